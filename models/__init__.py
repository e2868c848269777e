"""SQLModel tables; importing this package registers every table on the metadata."""

from models.app_setting import AppSetting
from models.assistant import TOOL_NAMES, Assistant
from models.base import utcnow
from models.conversation import Conversation, ConversationMessage, MessageRole, MessageStatus
from models.folder import Folder
from models.ledger import PriceSource, Reservation, SpendEntry, SpendKind
from models.password_reset import PasswordResetToken
from models.stored_file import FilePurpose, FileStatus, StoredFile
from models.user import Role, User

__all__ = [
    "AppSetting",
    "TOOL_NAMES",
    "Assistant",
    "Conversation",
    "ConversationMessage",
    "FilePurpose",
    "FileStatus",
    "Folder",
    "MessageRole",
    "MessageStatus",
    "PasswordResetToken",
    "PriceSource",
    "Reservation",
    "Role",
    "SpendEntry",
    "SpendKind",
    "StoredFile",
    "User",
    "utcnow",
]
