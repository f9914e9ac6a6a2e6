"""Durable runs and event logs: the ``RunStore`` interface and its embedded SQLite implementation.

Events are stored as the exact bytes ``runwire.protocol.dump_event`` produced, so a replay after
a restart is byte-identical to the live stream. See docs/store.md for the schema, durability,
recovery, retention and error contracts.
"""

from ._api import (
    ACTIVE_STATES,
    RUN_STATES,
    TERMINAL_STATES,
    CommitListener,
    Durability,
    RawEvent,
    RunRecord,
    RunState,
    RunStore,
    WriteErrorListener,
)
from ._attach import StoreBinding, open_system_store
from ._errors import StoreClosedError, StoreError, StoreWriteError
from ._paths import DB_FILENAME, ENV_DATA_DIR, resolve_data_dir, resolve_db_path
from ._schema import CURRENT_VERSION as SCHEMA_VERSION
from ._sqlite import SqliteRunStore

__all__ = [
    "ACTIVE_STATES",
    "DB_FILENAME",
    "ENV_DATA_DIR",
    "RUN_STATES",
    "SCHEMA_VERSION",
    "TERMINAL_STATES",
    "CommitListener",
    "Durability",
    "RawEvent",
    "RunRecord",
    "RunState",
    "RunStore",
    "SqliteRunStore",
    "StoreClosedError",
    "StoreBinding",
    "StoreError",
    "StoreWriteError",
    "WriteErrorListener",
    "open_system_store",
    "resolve_data_dir",
    "resolve_db_path",
]
