from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STATE_UNSPECIFIED: _ClassVar[State]
    STATE_UNASSIGNED: _ClassVar[State]
    STATE_RUNNING: _ClassVar[State]
    STATE_PAUSED: _ClassVar[State]
    STATE_FAILED: _ClassVar[State]
    STATE_RESTARTING: _ClassVar[State]
    STATE_STOPPED: _ClassVar[State]

class TargetState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TARGET_STATE_UNSPECIFIED: _ClassVar[TargetState]
    TARGET_STATE_RUNNING: _ClassVar[TargetState]
    TARGET_STATE_PAUSED: _ClassVar[TargetState]
    TARGET_STATE_STOPPED: _ClassVar[TargetState]

class ConnectorType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONNECTOR_TYPE_UNSPECIFIED: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_SOURCE: _ClassVar[ConnectorType]
    CONNECTOR_TYPE_SINK: _ClassVar[ConnectorType]
STATE_UNSPECIFIED: State
STATE_UNASSIGNED: State
STATE_RUNNING: State
STATE_PAUSED: State
STATE_FAILED: State
STATE_RESTARTING: State
STATE_STOPPED: State
TARGET_STATE_UNSPECIFIED: TargetState
TARGET_STATE_RUNNING: TargetState
TARGET_STATE_PAUSED: TargetState
TARGET_STATE_STOPPED: TargetState
CONNECTOR_TYPE_UNSPECIFIED: ConnectorType
CONNECTOR_TYPE_SOURCE: ConnectorType
CONNECTOR_TYPE_SINK: ConnectorType

class TaskRef(_message.Message):
    __slots__ = ("connector", "task")
    CONNECTOR_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    connector: str
    task: int
    def __init__(self, connector: _Optional[str] = ..., task: _Optional[int] = ...) -> None: ...

class SourceOffset(_message.Message):
    __slots__ = ("partition", "offset")
    PARTITION_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    partition: str
    offset: str
    def __init__(self, partition: _Optional[str] = ..., offset: _Optional[str] = ...) -> None: ...
