"""SQLModel tables; importing this package registers every table on the metadata."""

from models.api_key import ApiKey, KeyScope
from models.app_setting import AppSetting
from models.assistant import TOOL_NAMES, Assistant
from models.audit_event import AuditEvent
from models.base import as_utc, utcnow
from models.conversation import Conversation, ConversationMessage, MessageRole, MessageStatus
from models.feedback import AnswerFeedback
from models.folder import Folder
from models.group import AssistantGroup, Group, GroupMember, MembershipSource
from models.instance import Instance
from models.ledger import PriceSource, Reservation, SpendEntry, SpendKind
from models.oidc_identity import OidcIdentity
from models.password_reset import PasswordResetToken
from models.prompt import Prompt
from models.share import ShareLink
from models.stored_file import FilePurpose, FileStatus, StoredFile
from models.user import Role, User

__all__ = [
    "ApiKey",
    "KeyScope",
    "AnswerFeedback",
    "AppSetting",
    "TOOL_NAMES",
    "Assistant",
    "AssistantGroup",
    "AuditEvent",
    "Conversation",
    "ConversationMessage",
    "FilePurpose",
    "FileStatus",
    "Instance",
    "Group",
    "GroupMember",
    "MembershipSource",
    "Folder",
    "MessageRole",
    "MessageStatus",
    "OidcIdentity",
    "PasswordResetToken",
    "PriceSource",
    "Prompt",
    "Reservation",
    "Role",
    "SpendEntry",
    "ShareLink",
    "SpendKind",
    "StoredFile",
    "User",
    "as_utc",
    "utcnow",
]
