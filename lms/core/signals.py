"""Signals that let a lower layer announce a change without knowing who cares (DESIGN §2: courses never imports
titles). Receivers run synchronously, inside the sender's transaction, so what they write commits or rolls back
with the change that caused it."""

from blinker import Namespace

_signals = Namespace()

#: Learning records were written or removed. Keyword arguments: ``pairs``, a set of ``(commune_id, year)`` where the
#: learning happened; ``persons`` (optional), a set of ``(person_id, year)`` whose learning it was.
learning_records_changed = _signals.signal("learning-records-changed")

#: A registry page of a subject is being drawn. Sender: the subject type (``"household"``); keyword ``subject_id``.
#: A receiver returns markup to show on the page (or None), so a higher layer adds what it knows about the subject
#: (its titles by year) to a page the registry owns without the registry importing it.
subject_page = _signals.signal("subject-page")

#: The signed-in user's start page (``core.home``) is being drawn. Sender: ``"home"``. A receiver returns markup to
#: show above the role cards (or None): what a feature wants its users reminded of where they land after login
#: (courses: the classes waiting on a roll call), without core importing the feature.
home_page = _signals.signal("home-page")

#: Certificates or recognitions were revoked. Keyword arguments: ``certificate_ids`` or ``recognition_ids``, sets of
#: ids. The credentials issued for them are revoked in the same transaction (lms/credentials).
revoked = _signals.signal("revoked")

#: Certificates (sender ``"certificate"``) or certificates of recognition (``"recognition"``) are being printed;
#: keyword ``rows``, the Certificates or Recognitions. A receiver returns, by row id, the text of each one's second
#: QR code — the signed credential in a form a phone can verify without our server (lms/credentials, ADR 32) — for
#: those that have one.
printing = _signals.signal("printing")

#: The registry of some communes changed (their persons, households, clans, organisations and members, the commune
#: or its villages), in the sender's transaction, just before it commits. Keyword argument: ``communes``, a set of
#: commune ids. Their ``registry_version`` is already bumped (lms/registry/changes.py, ADR 41); a receiver brings
#: up to date what it derives from them (titles marks their current evaluation years).
registry_changed = _signals.signal("registry-changed")

#: A person asked to see the data held about them (Decree 13/2023, Art. 9 and 14; ADR 57). Sender: ``"person"``;
#: keyword ``person_id``. A receiver returns a list of :class:`lms.core.personal_data.DataSection` — everything its
#: part keeps about the person, whatever the reader's scope (the reader hands the person their own data) — or None.
personal_data = _signals.signal("personal-data")
