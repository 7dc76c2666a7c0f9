"""Signals that let a lower layer announce a change without knowing who cares (DESIGN §2: courses never imports
titles). Receivers run synchronously, inside the sender's transaction, so what they write commits or rolls back
with the change that caused it."""

from blinker import Namespace

_signals = Namespace()

#: Learning records were written or removed. Keyword arguments: ``pairs``, a set of ``(commune_id, year)`` where the
#: learning happened; ``persons`` (optional), a set of ``(person_id, year)`` whose learning it was.
learning_records_changed = _signals.signal("learning-records-changed")

#: Certificates or recognitions were revoked. Keyword arguments: ``certificate_ids`` or ``recognition_ids``, sets of
#: ids. The credentials issued for them are revoked in the same transaction (lms/credentials).
revoked = _signals.signal("revoked")
