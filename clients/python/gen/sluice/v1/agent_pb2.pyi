import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from sluice.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SessionRequest(_message.Message):
    __slots__ = ("register", "heartbeat", "task_state", "offsets", "drain", "topics")
    REGISTER_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    TASK_STATE_FIELD_NUMBER: _ClassVar[int]
    OFFSETS_FIELD_NUMBER: _ClassVar[int]
    DRAIN_FIELD_NUMBER: _ClassVar[int]
    TOPICS_FIELD_NUMBER: _ClassVar[int]
    register: Register
    heartbeat: Heartbeat
    task_state: TaskStateReport
    offsets: OffsetCommit
    drain: Drain
    topics: TopicsReport
    def __init__(self, register: _Optional[_Union[Register, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ..., task_state: _Optional[_Union[TaskStateReport, _Mapping]] = ..., offsets: _Optional[_Union[OffsetCommit, _Mapping]] = ..., drain: _Optional[_Union[Drain, _Mapping]] = ..., topics: _Optional[_Union[TopicsReport, _Mapping]] = ...) -> None: ...

class Drain(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SessionResponse(_message.Message):
    __slots__ = ("registered", "assignments", "heartbeat_ack", "refused")
    REGISTERED_FIELD_NUMBER: _ClassVar[int]
    ASSIGNMENTS_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_ACK_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    registered: Registered
    assignments: Assignments
    heartbeat_ack: HeartbeatAck
    refused: Refused
    def __init__(self, registered: _Optional[_Union[Registered, _Mapping]] = ..., assignments: _Optional[_Union[Assignments, _Mapping]] = ..., heartbeat_ack: _Optional[_Union[HeartbeatAck, _Mapping]] = ..., refused: _Optional[_Union[Refused, _Mapping]] = ...) -> None: ...

class Register(_message.Message):
    __slots__ = ("name", "labels", "version", "capacity", "running")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    name: str
    labels: _containers.ScalarMap[str, str]
    version: str
    capacity: int
    running: _containers.RepeatedCompositeFieldContainer[RunningTask]
    def __init__(self, name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., version: _Optional[str] = ..., capacity: _Optional[int] = ..., running: _Optional[_Iterable[_Union[RunningTask, _Mapping]]] = ...) -> None: ...

class RunningTask(_message.Message):
    __slots__ = ("task", "epoch")
    TASK_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    task: _common_pb2.TaskRef
    epoch: int
    def __init__(self, task: _Optional[_Union[_common_pb2.TaskRef, _Mapping]] = ..., epoch: _Optional[int] = ...) -> None: ...

class Registered(_message.Message):
    __slots__ = ("replica", "heartbeat_interval", "session_ttl")
    REPLICA_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    SESSION_TTL_FIELD_NUMBER: _ClassVar[int]
    replica: str
    heartbeat_interval: _duration_pb2.Duration
    session_ttl: _duration_pb2.Duration
    def __init__(self, replica: _Optional[str] = ..., heartbeat_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., session_ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ("send_time",)
    SEND_TIME_FIELD_NUMBER: _ClassVar[int]
    send_time: _timestamp_pb2.Timestamp
    def __init__(self, send_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class HeartbeatAck(_message.Message):
    __slots__ = ("send_time",)
    SEND_TIME_FIELD_NUMBER: _ClassVar[int]
    send_time: _timestamp_pb2.Timestamp
    def __init__(self, send_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Assignments(_message.Message):
    __slots__ = ("tasks", "log_level")
    TASKS_FIELD_NUMBER: _ClassVar[int]
    LOG_LEVEL_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[Assignment]
    log_level: str
    def __init__(self, tasks: _Optional[_Iterable[_Union[Assignment, _Mapping]]] = ..., log_level: _Optional[str] = ...) -> None: ...

class Assignment(_message.Message):
    __slots__ = ("task", "epoch", "config", "target_state", "offsets", "generation", "restart", "topics_reset", "trace_parent")
    class ConfigEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TASK_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    TARGET_STATE_FIELD_NUMBER: _ClassVar[int]
    OFFSETS_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    RESTART_FIELD_NUMBER: _ClassVar[int]
    TOPICS_RESET_FIELD_NUMBER: _ClassVar[int]
    TRACE_PARENT_FIELD_NUMBER: _ClassVar[int]
    task: _common_pb2.TaskRef
    epoch: int
    config: _containers.ScalarMap[str, str]
    target_state: _common_pb2.TargetState
    offsets: _containers.RepeatedCompositeFieldContainer[_common_pb2.SourceOffset]
    generation: int
    restart: int
    topics_reset: int
    trace_parent: str
    def __init__(self, task: _Optional[_Union[_common_pb2.TaskRef, _Mapping]] = ..., epoch: _Optional[int] = ..., config: _Optional[_Mapping[str, str]] = ..., target_state: _Optional[_Union[_common_pb2.TargetState, str]] = ..., offsets: _Optional[_Iterable[_Union[_common_pb2.SourceOffset, _Mapping]]] = ..., generation: _Optional[int] = ..., restart: _Optional[int] = ..., topics_reset: _Optional[int] = ..., trace_parent: _Optional[str] = ...) -> None: ...

class TaskStateReport(_message.Message):
    __slots__ = ("task", "epoch", "state", "trace", "message", "restarts")
    TASK_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TRACE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RESTARTS_FIELD_NUMBER: _ClassVar[int]
    task: _common_pb2.TaskRef
    epoch: int
    state: _common_pb2.State
    trace: str
    message: str
    restarts: int
    def __init__(self, task: _Optional[_Union[_common_pb2.TaskRef, _Mapping]] = ..., epoch: _Optional[int] = ..., state: _Optional[_Union[_common_pb2.State, str]] = ..., trace: _Optional[str] = ..., message: _Optional[str] = ..., restarts: _Optional[int] = ...) -> None: ...

class OffsetCommit(_message.Message):
    __slots__ = ("task", "epoch", "offsets")
    TASK_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    OFFSETS_FIELD_NUMBER: _ClassVar[int]
    task: _common_pb2.TaskRef
    epoch: int
    offsets: _containers.RepeatedCompositeFieldContainer[_common_pb2.SourceOffset]
    def __init__(self, task: _Optional[_Union[_common_pb2.TaskRef, _Mapping]] = ..., epoch: _Optional[int] = ..., offsets: _Optional[_Iterable[_Union[_common_pb2.SourceOffset, _Mapping]]] = ...) -> None: ...

class TopicsReport(_message.Message):
    __slots__ = ("task", "epoch", "topics")
    TASK_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    TOPICS_FIELD_NUMBER: _ClassVar[int]
    task: _common_pb2.TaskRef
    epoch: int
    topics: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, task: _Optional[_Union[_common_pb2.TaskRef, _Mapping]] = ..., epoch: _Optional[int] = ..., topics: _Optional[_Iterable[str]] = ...) -> None: ...

class Refused(_message.Message):
    __slots__ = ("task", "epoch", "reason")
    TASK_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    task: _common_pb2.TaskRef
    epoch: int
    reason: str
    def __init__(self, task: _Optional[_Union[_common_pb2.TaskRef, _Mapping]] = ..., epoch: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...
