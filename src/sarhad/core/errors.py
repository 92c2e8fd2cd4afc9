"""One error vocabulary: stable codes in one enum, refusals by kind, one rule error and one converter.

- :class:`ErrorCode` lists every code the node sends (API answers, protocol refusals, quarantine reasons).
  A client may rely on a code; the message is for people and may change.
- :class:`SarhadError` and its subclasses are refusals a user or a peer can act on; each subclass fixes the
  HTTP status, so no code sets a status on an instance.
- :class:`RuleError` is what pure domain rules raise (no HTTP, no database): the field to correct, the
  message, optionally a more precise code. :meth:`InvalidInput.from_rule` turns it into an answer.
- :class:`RecordRefused` is what a record kind's handler raises for a received record it will not apply;
  the exchange quarantines the record with the refusal as its reason and raises an alert.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar


class ErrorCode(StrEnum):
    """Every stable error code. Grouped by who sends it; ``docs/exchange-protocol.md`` lists the protocol's."""

    # general
    BAD_REQUEST = "bad_request"
    INVALID = "invalid"
    NOT_AUTHENTICATED = "not_authenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    TOO_LARGE = "too_large"
    THROTTLED = "throttled"
    # sign-in and sessions
    BAD_CREDENTIALS = "bad_credentials"
    BAD_TOKEN = "bad_token"
    TOKEN_EXPIRED = "token_expired"
    TOKEN_REVOKED = "token_revoked"
    ACCOUNT_DISABLED = "account_disabled"
    LOGIN_THROTTLED = "login_throttled"
    CSRF = "csrf"
    USER_EXISTS = "user_exists"
    WEAK_PASSWORD = "weak_password"  # too short, a common password, or the user's own names
    # the exchange protocol (also in exchange.protocol.ERROR_CODES and the ledger verifier)
    MALFORMED = "malformed"
    BAD_HASH = "bad_hash"
    UNKNOWN_KEY = "unknown_key"
    WRONG_KEY = "wrong_key"
    BAD_SIGNATURE = "bad_signature"
    BAD_LINK = "bad_link"
    UNKNOWN_LINK = "unknown_link"
    SEQ_GAP = "seq_gap"
    BAD_PREV = "bad_prev"
    DUPLICATE_SEQ = "duplicate_seq"
    EQUIVOCATION = "equivocation"
    STALE_REQUEST = "stale_request"
    BAD_ROTATION = "bad_rotation"
    BAD_RECEIPT = "bad_receipt"
    TOO_DEEP = "too_deep"
    UNSAFE_NUMBER = "unsafe_number"
    DUPLICATE_MEMBER = "duplicate_member"
    OUT_OF_RANGE = "out_of_range"
    BAD_DIGEST = "bad_digest"
    LEDGER_DIGEST = "ledger_digest"
    UNKNOWN_PEER = "unknown_peer"
    PEER_EXISTS = "peer_exists"
    KEY_IN_USE = "key_in_use"
    TLS_PARTY_MISMATCH = "tls_party_mismatch"
    TLS_PARTY_MISSING = "tls_party_missing"
    # shared records
    RECORD_REFUSED = "record_refused"
    RECORD_TOO_LARGE = "record_too_large"
    ALREADY_RELEASED = "already_released"
    NO_ONWARD_RELEASE = "no_onward_release"
    ORIGIN_UNSIGNED = "origin_unsigned"
    NOT_ORIGINATOR = "not_originator"
    RELEASE_REQUIRED = "release_required"  # a new version of a released record needs records.release
    NOT_EDITABLE = "not_editable"
    STALE_VERSION = "stale_version"
    WITHDRAWN = "withdrawn"
    ALREADY_PROPOSED = "already_proposed"
    ALREADY_ACCEPTED = "already_accepted"
    NOT_PENDING = "not_pending"
    EXPIRED = "expired"
    UNCHANGED = "unchanged"
    AMBIGUOUS = "ambiguous"
    TOO_MANY = "too_many"
    # border
    BAD_REFERENCE = "bad_reference"
    BAD_BORDER_GEOJSON = "bad_border_geojson"
    BAD_CUT_POINTS = "bad_cut_points"
    BAD_BBOX = "bad_bbox"
    PARTIES_NEEDED = "parties_needed"
    LINE_NEEDED = "line_needed"
    REVERSED_LINE = "reversed_line"
    SECTION_EXISTS = "section_exists"
    SECTIONS_CHANGED = "sections_changed"
    NO_BORDER = "no_border"
    NOT_OWNER = "not_owner"
    OUT_OF_SCOPE = "out_of_scope"
    UNKNOWN_SECTION = "unknown_section"
    NO_PEER = "no_peer"
    # hotline
    UNKNOWN_POSITION = "unknown_position"
    UNKNOWN_CHANNEL = "unknown_channel"
    NOT_HOLDER = "not_holder"
    NOT_SENDER = "not_sender"
    NOT_ADDRESSEE = "not_addressee"
    OWN_MESSAGE = "own_message"
    ALREADY_ACKNOWLEDGED = "already_acknowledged"
    NOT_ACKNOWLEDGED = "not_acknowledged"
    # incidents and requests
    UNKNOWN_INCIDENT = "unknown_incident"
    FAR_FROM_BORDER = "far_from_border"
    ATTACHMENT_NOT_SHARED = "attachment_not_shared"
    OWN_REQUEST = "own_request"
    REQUEST_ANSWERED = "request_answered"
    REQUEST_WITHDRAWN = "request_withdrawn"
    # audit log (docs/audit.md)
    BAD_AUDIT_HEAD = "bad_audit_head"
    AUDIT_HEAD_CONFLICT = "audit_head_conflict"
    # intelligence reports (docs/intel.md)
    BAD_GRADING = "bad_grading"  # source reliability outside A-F or information credibility outside 1-6
    OWN_APPROVAL = "own_approval"  # four eyes: the author of a report cannot approve it
    NOT_DRAFT = "not_draft"  # only a draft report is approved
    NOT_APPROVED = "not_approved"  # a report is released only once approved
    BAD_IDENTIFIER = "bad_identifier"  # a CNIC or Iranian national code that fails its format or check digit
    BAD_STIX = "bad_stix"  # a STIX bundle that is not JSON or fails stix2 validation (docs/intel.md)
    NO_STIX_REPORT = "no_stix_report"  # a STIX bundle without exactly one report object
    # QRF units (docs/qrf.md)
    QRF_ILLEGAL_TRANSITION = "qrf_illegal_transition"
    QRF_NOTICE_REQUIRED = "qrf_notice_required"
    QRF_UNKNOWN_POST = "qrf_unknown_post"


class SarhadError(Exception):
    """A refusal the user can act on. ``code`` is stable for clients; ``message`` is for people.

    Subclasses fix the HTTP status; pass ``code`` for a more precise reason than the subclass's default.
    """

    status_code: ClassVar[int] = 400
    default_code: ClassVar[ErrorCode] = ErrorCode.BAD_REQUEST

    def __init__(self, message: str, *, code: ErrorCode | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.code: ErrorCode = code if code is not None else self.default_code
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code.value, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}


class InvalidInput(SarhadError):
    status_code = 422
    default_code = ErrorCode.INVALID

    @classmethod
    def from_rule(cls, exc: RuleError) -> InvalidInput:
        """The answer for a broken domain rule: ``field: message``, the field in the details."""
        return cls(f"{exc.field}: {exc.message}", code=exc.code, details={"field": exc.field})


class NotAuthenticated(SarhadError):
    status_code = 401
    default_code = ErrorCode.NOT_AUTHENTICATED


class PermissionDenied(SarhadError):
    status_code = 403
    default_code = ErrorCode.FORBIDDEN


class NotFound(SarhadError):
    status_code = 404
    default_code = ErrorCode.NOT_FOUND


class Conflict(SarhadError):
    status_code = 409
    default_code = ErrorCode.CONFLICT


class PayloadTooLarge(SarhadError):
    status_code = 413
    default_code = ErrorCode.TOO_LARGE


class TooManyRequests(SarhadError):
    status_code = 429
    default_code = ErrorCode.THROTTLED


class RuleError(ValueError):
    """A domain rule is broken; ``field`` names the input to correct (dotted for nested input).

    Raised by pure rules (``domain.py``); services turn it into :class:`InvalidInput` with
    :meth:`InvalidInput.from_rule`, handlers of received records into :class:`RecordRefused`.
    """

    def __init__(self, field: str, message: str, *, code: ErrorCode | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.code = code


class RecordRefused(SarhadError):
    """A received record its kind will not apply (a broken rule, a record that may not change what it names).

    The exchange quarantines the record with ``refused (code): message`` as the reason and raises an alert;
    the envelope still counts as received (the chain goes on).
    """

    status_code = 422
    default_code = ErrorCode.RECORD_REFUSED

    @classmethod
    def from_rule(cls, exc: RuleError) -> RecordRefused:
        return cls(f"{exc.field}: {exc.message}", code=exc.code, details={"field": exc.field})

    @property
    def reason(self) -> str:
        """The quarantine reason: says that the record was refused, why, and with which code."""
        return f"refused ({self.code.value}): {self.message}"
