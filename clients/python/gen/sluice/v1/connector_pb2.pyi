import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from sluice.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PluginType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PLUGIN_TYPE_UNSPECIFIED: _ClassVar[PluginType]
    PLUGIN_TYPE_SOURCE: _ClassVar[PluginType]
    PLUGIN_TYPE_SINK: _ClassVar[PluginType]
    PLUGIN_TYPE_CONVERTER: _ClassVar[PluginType]
    PLUGIN_TYPE_HEADER_CONVERTER: _ClassVar[PluginType]
    PLUGIN_TYPE_TRANSFORMATION: _ClassVar[PluginType]
    PLUGIN_TYPE_PREDICATE: _ClassVar[PluginType]
PLUGIN_TYPE_UNSPECIFIED: PluginType
PLUGIN_TYPE_SOURCE: PluginType
PLUGIN_TYPE_SINK: PluginType
PLUGIN_TYPE_CONVERTER: PluginType
PLUGIN_TYPE_HEADER_CONVERTER: PluginType
PLUGIN_TYPE_TRANSFORMATION: PluginType
PLUGIN_TYPE_PREDICATE: PluginType

class Connector(_message.Message):
    __slots__ = ("name", "config", "target_state", "type", "generation", "tasks", "create_time", "update_time")
    class ConfigEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    TARGET_STATE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    config: _containers.ScalarMap[str, str]
    target_state: _common_pb2.TargetState
    type: _common_pb2.ConnectorType
    generation: int
    tasks: _containers.RepeatedCompositeFieldContainer[TaskConfig]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., config: _Optional[_Mapping[str, str]] = ..., target_state: _Optional[_Union[_common_pb2.TargetState, str]] = ..., type: _Optional[_Union[_common_pb2.ConnectorType, str]] = ..., generation: _Optional[int] = ..., tasks: _Optional[_Iterable[_Union[TaskConfig, _Mapping]]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TaskConfig(_message.Message):
    __slots__ = ("task", "config")
    class ConfigEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TASK_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    task: int
    config: _containers.ScalarMap[str, str]
    def __init__(self, task: _Optional[int] = ..., config: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ApplyConnectorRequest(_message.Message):
    __slots__ = ("name", "config", "initial_state")
    class ConfigEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    INITIAL_STATE_FIELD_NUMBER: _ClassVar[int]
    name: str
    config: _containers.ScalarMap[str, str]
    initial_state: _common_pb2.TargetState
    def __init__(self, name: _Optional[str] = ..., config: _Optional[_Mapping[str, str]] = ..., initial_state: _Optional[_Union[_common_pb2.TargetState, str]] = ...) -> None: ...

class ApplyConnectorResponse(_message.Message):
    __slots__ = ("connector", "created")
    CONNECTOR_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    connector: Connector
    created: bool
    def __init__(self, connector: _Optional[_Union[Connector, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class GetConnectorRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetConnectorResponse(_message.Message):
    __slots__ = ("connector",)
    CONNECTOR_FIELD_NUMBER: _ClassVar[int]
    connector: Connector
    def __init__(self, connector: _Optional[_Union[Connector, _Mapping]] = ...) -> None: ...

class ListConnectorsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListConnectorsResponse(_message.Message):
    __slots__ = ("connectors",)
    CONNECTORS_FIELD_NUMBER: _ClassVar[int]
    connectors: _containers.RepeatedCompositeFieldContainer[Connector]
    def __init__(self, connectors: _Optional[_Iterable[_Union[Connector, _Mapping]]] = ...) -> None: ...

class DeleteConnectorRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteConnectorResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PauseConnectorRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class PauseConnectorResponse(_message.Message):
    __slots__ = ("connector",)
    CONNECTOR_FIELD_NUMBER: _ClassVar[int]
    connector: Connector
    def __init__(self, connector: _Optional[_Union[Connector, _Mapping]] = ...) -> None: ...

class ResumeConnectorRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ResumeConnectorResponse(_message.Message):
    __slots__ = ("connector",)
    CONNECTOR_FIELD_NUMBER: _ClassVar[int]
    connector: Connector
    def __init__(self, connector: _Optional[_Union[Connector, _Mapping]] = ...) -> None: ...

class StopConnectorRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class StopConnectorResponse(_message.Message):
    __slots__ = ("connector",)
    CONNECTOR_FIELD_NUMBER: _ClassVar[int]
    connector: Connector
    def __init__(self, connector: _Optional[_Union[Connector, _Mapping]] = ...) -> None: ...

class RestartConnectorRequest(_message.Message):
    __slots__ = ("name", "include_tasks", "only_failed")
    NAME_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_TASKS_FIELD_NUMBER: _ClassVar[int]
    ONLY_FAILED_FIELD_NUMBER: _ClassVar[int]
    name: str
    include_tasks: bool
    only_failed: bool
    def __init__(self, name: _Optional[str] = ..., include_tasks: _Optional[bool] = ..., only_failed: _Optional[bool] = ...) -> None: ...

class RestartConnectorResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: ConnectorStatus
    def __init__(self, status: _Optional[_Union[ConnectorStatus, _Mapping]] = ...) -> None: ...

class RestartTaskRequest(_message.Message):
    __slots__ = ("name", "task")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    name: str
    task: int
    def __init__(self, name: _Optional[str] = ..., task: _Optional[int] = ...) -> None: ...

class RestartTaskResponse(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: TaskStatus
    def __init__(self, task: _Optional[_Union[TaskStatus, _Mapping]] = ...) -> None: ...

class ValidateConnectorConfigRequest(_message.Message):
    __slots__ = ("config",)
    class ConfigEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    config: _containers.ScalarMap[str, str]
    def __init__(self, config: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ValidateConnectorConfigResponse(_message.Message):
    __slots__ = ("name", "error_count", "groups", "configs")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ERROR_COUNT_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    CONFIGS_FIELD_NUMBER: _ClassVar[int]
    name: str
    error_count: int
    groups: _containers.RepeatedScalarFieldContainer[str]
    configs: _containers.RepeatedCompositeFieldContainer[ConfigInfo]
    def __init__(self, name: _Optional[str] = ..., error_count: _Optional[int] = ..., groups: _Optional[_Iterable[str]] = ..., configs: _Optional[_Iterable[_Union[ConfigInfo, _Mapping]]] = ...) -> None: ...

class ConfigInfo(_message.Message):
    __slots__ = ("definition", "value")
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    definition: ConfigField
    value: ConfigValue
    def __init__(self, definition: _Optional[_Union[ConfigField, _Mapping]] = ..., value: _Optional[_Union[ConfigValue, _Mapping]] = ...) -> None: ...

class ConfigValue(_message.Message):
    __slots__ = ("name", "value", "recommended_values", "errors", "visible")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_VALUES_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    VISIBLE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    recommended_values: _containers.RepeatedScalarFieldContainer[str]
    errors: _containers.RepeatedScalarFieldContainer[str]
    visible: bool
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ..., recommended_values: _Optional[_Iterable[str]] = ..., errors: _Optional[_Iterable[str]] = ..., visible: _Optional[bool] = ...) -> None: ...

class GetConnectorOffsetsRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetConnectorOffsetsResponse(_message.Message):
    __slots__ = ("offsets",)
    OFFSETS_FIELD_NUMBER: _ClassVar[int]
    offsets: _containers.RepeatedCompositeFieldContainer[_common_pb2.SourceOffset]
    def __init__(self, offsets: _Optional[_Iterable[_Union[_common_pb2.SourceOffset, _Mapping]]] = ...) -> None: ...

class AlterConnectorOffsetsRequest(_message.Message):
    __slots__ = ("name", "offsets")
    NAME_FIELD_NUMBER: _ClassVar[int]
    OFFSETS_FIELD_NUMBER: _ClassVar[int]
    name: str
    offsets: _containers.RepeatedCompositeFieldContainer[_common_pb2.SourceOffset]
    def __init__(self, name: _Optional[str] = ..., offsets: _Optional[_Iterable[_Union[_common_pb2.SourceOffset, _Mapping]]] = ...) -> None: ...

class AlterConnectorOffsetsResponse(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: str
    def __init__(self, message: _Optional[str] = ...) -> None: ...

class ResetConnectorOffsetsRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ResetConnectorOffsetsResponse(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: str
    def __init__(self, message: _Optional[str] = ...) -> None: ...

class GetConnectorStatusRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetConnectorStatusResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: ConnectorStatus
    def __init__(self, status: _Optional[_Union[ConnectorStatus, _Mapping]] = ...) -> None: ...

class ConnectorStatus(_message.Message):
    __slots__ = ("name", "type", "connector", "tasks", "target_state", "generation")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    TARGET_STATE_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: _common_pb2.ConnectorType
    connector: InstanceStatus
    tasks: _containers.RepeatedCompositeFieldContainer[TaskStatus]
    target_state: _common_pb2.TargetState
    generation: int
    def __init__(self, name: _Optional[str] = ..., type: _Optional[_Union[_common_pb2.ConnectorType, str]] = ..., connector: _Optional[_Union[InstanceStatus, _Mapping]] = ..., tasks: _Optional[_Iterable[_Union[TaskStatus, _Mapping]]] = ..., target_state: _Optional[_Union[_common_pb2.TargetState, str]] = ..., generation: _Optional[int] = ...) -> None: ...

class InstanceStatus(_message.Message):
    __slots__ = ("state", "worker_id", "trace")
    STATE_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    TRACE_FIELD_NUMBER: _ClassVar[int]
    state: _common_pb2.State
    worker_id: str
    trace: str
    def __init__(self, state: _Optional[_Union[_common_pb2.State, str]] = ..., worker_id: _Optional[str] = ..., trace: _Optional[str] = ...) -> None: ...

class TaskStatus(_message.Message):
    __slots__ = ("id", "state", "worker_id", "trace", "epoch", "restarts", "update_time", "message")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    TRACE_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    RESTARTS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    id: int
    state: _common_pb2.State
    worker_id: str
    trace: str
    epoch: int
    restarts: int
    update_time: _timestamp_pb2.Timestamp
    message: str
    def __init__(self, id: _Optional[int] = ..., state: _Optional[_Union[_common_pb2.State, str]] = ..., worker_id: _Optional[str] = ..., trace: _Optional[str] = ..., epoch: _Optional[int] = ..., restarts: _Optional[int] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., message: _Optional[str] = ...) -> None: ...

class ListPluginsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListPluginsResponse(_message.Message):
    __slots__ = ("plugins",)
    PLUGINS_FIELD_NUMBER: _ClassVar[int]
    plugins: _containers.RepeatedCompositeFieldContainer[Plugin]
    def __init__(self, plugins: _Optional[_Iterable[_Union[Plugin, _Mapping]]] = ...) -> None: ...

class Plugin(_message.Message):
    __slots__ = ("name", "aliases", "type", "version", "description", "config")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CLASS_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    name: str
    aliases: _containers.RepeatedScalarFieldContainer[str]
    type: PluginType
    version: str
    description: str
    config: _containers.RepeatedCompositeFieldContainer[ConfigField]
    def __init__(self, name: _Optional[str] = ..., aliases: _Optional[_Iterable[str]] = ..., type: _Optional[_Union[PluginType, str]] = ..., version: _Optional[str] = ..., description: _Optional[str] = ..., config: _Optional[_Iterable[_Union[ConfigField, _Mapping]]] = ..., **kwargs) -> None: ...

class ConfigField(_message.Message):
    __slots__ = ("name", "type", "default_value", "required", "importance", "documentation", "group", "allowed_values")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_VALUE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    IMPORTANCE_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTATION_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_VALUES_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    default_value: str
    required: bool
    importance: str
    documentation: str
    group: str
    allowed_values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., default_value: _Optional[str] = ..., required: _Optional[bool] = ..., importance: _Optional[str] = ..., documentation: _Optional[str] = ..., group: _Optional[str] = ..., allowed_values: _Optional[_Iterable[str]] = ...) -> None: ...

class GetConnectorTopicsRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetConnectorTopicsResponse(_message.Message):
    __slots__ = ("topics",)
    TOPICS_FIELD_NUMBER: _ClassVar[int]
    topics: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, topics: _Optional[_Iterable[str]] = ...) -> None: ...

class ResetConnectorTopicsRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ResetConnectorTopicsResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
