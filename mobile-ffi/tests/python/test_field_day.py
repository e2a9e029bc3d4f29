"""A field day with two phones, through the generated Python bindings (stdlib only).

Run by `cargo test --workspace` (tests/tests/python_field_day.rs), which builds the cdylib,
generates the bindings, starts a real `ferry` server with two officers and runs:

    PYTHONPATH=<bindings dir> python3 -m unittest -v test_field_day

Environment:
    FERRY_URL                  the server, e.g. http://127.0.0.1:41234
    FERRY_OFFICER1, FERRY_PASSWORD1   an officer of unit 07132 (phone A)
    FERRY_OFFICER2, FERRY_PASSWORD2   another officer of unit 07132 (phone B)
    FERRY_DISPLAY1, FERRY_DISPLAY2    the two officers' display names (NFC)
    FERRY_STAFF, FERRY_STAFF_PASSWORD  a police office staff member of unit 07132
    FERRY_OFFICER3/4, FERRY_PASSWORD3/4  two more officers of unit 07132
    FERRY_BIN, FERRY_DATA_DIR  the `ferry` binary and its data dir, to revoke a device
                               (the remote wipe and its reset) and reassign an officer
"""

import os
import socket
import subprocess
import tempfile
import threading
import unittest
import urllib.error
import urllib.request

import mobile_ffi as ffi
from mobile_ffi import ApiError, Edit, FieldValue, RecordKind, RecordQuery

UNIT = "07132"  # Phường Quảng Yên: the officers' unit
OTHER_UNIT = "07135"  # Phường Đông Mai: nobody here works there


def text(value):
    return FieldValue.TEXT(value)


def citizen(name, id_number, dob, sex):
    return {
        "full_name": text(name),
        "id_number": text(id_number),
        "date_of_birth": text(dob),
        "sex": text(sex),
        "status": text("active"),
    }


class Progress(ffi.SyncProgress):
    """Collects progress events (called on the syncing thread)."""

    def __init__(self):
        self.events = []
        self.lock = threading.Lock()

    def on_round_trip(self, event):
        with self.lock:
            self.events.append(event)


class Proxy:
    """A TCP relay to the server, to make it unreachable on demand (`close`)."""

    def __init__(self, target):
        host, port = target.split("//")[1].split(":")
        self.target = (host, int(port))
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pump, args=(a, b), daemon=True).start()

    @staticmethod
    def pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        # shutdown stops the listener even while `serve` is blocked in accept().
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def env(name):
    value = os.environ.get(name)
    if not value:
        raise unittest.SkipTest(f"{name} is not set: run through cargo test")
    return value


class FieldDay(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.url = env("FERRY_URL")
        cls.dir = tempfile.TemporaryDirectory()
        # Phone A derives its key from the officer's PIN; phone B has a keystore key.
        cls.salt = ffi.new_salt()
        key_a = ffi.derive_key_from_pin("482913", cls.salt)
        key_b = os.urandom(32)
        cls.path_a = os.path.join(cls.dir.name, "phone-a.db")
        cls.path_b = os.path.join(cls.dir.name, "phone-b.db")
        cls.key_a = key_a
        cls.key_b = key_b
        cls.a = ffi.FerryStore.open(cls.path_a, key_a)
        cls.b = ffi.FerryStore.open(cls.path_b, key_b)
        cls.session_a = cls.a.login(
            cls.url, env("FERRY_OFFICER1"), env("FERRY_PASSWORD1"), "Phone A"
        )
        cls.session_b = cls.b.login(
            cls.url, env("FERRY_OFFICER2"), env("FERRY_PASSWORD2"), "Phone B"
        )

    @classmethod
    def tearDownClass(cls):
        cls.a = cls.b = None
        cls.dir.cleanup()

    def sync(self, store, progress=None):
        progress = progress or Progress()
        report = store.sync(progress, ffi.CancelToken())
        self.assertFalse(report.wiped)
        self.assertFalse(report.cancelled)
        self.assertEqual(len(progress.events), report.round_trips)
        return report

    def test_field_day(self):
        a, b = self.a, self.b
        self.assertEqual(self.session_a.units, [UNIT])
        self.assertEqual(self.session_a.role, ffi.UserRole.OFFICER)
        self.assertEqual(a.session().username, os.environ["FERRY_OFFICER1"])
        self.assertEqual(a.session().display_name, env("FERRY_DISPLAY1"))

        # Morning, in the office: A registers a citizen and both phones sync.
        binh = a.create(
            RecordKind.CITIZEN, UNIT, citizen("Nguyễn Văn Bình", "022090001234", "1990-01-02", "male")
        )
        self.assertEqual(binh.findings, [])
        cid = binh.record.id
        self.assertEqual(a.outbox_status().pending_records, 1)
        progress = Progress()
        report = self.sync(a, progress)
        self.assertGreaterEqual(report.acknowledged, 1)
        self.assertEqual(report.pending_changes, 0)
        self.assertGreaterEqual(len(progress.events), 1, "progress callbacks arrive during sync")
        self.assertEqual(progress.events[0].round_trip, 1)
        self.assertGreaterEqual(progress.events[0].pushed, 1)
        self.assertGreater(progress.events[0].bytes_sent, 0)
        self.assertEqual(a.outbox_status().pending_changes, 0)
        self.assertIsNone(a.outbox_status().oldest_age_ms)
        report = self.sync(b)
        self.assertGreaterEqual(report.pulled, 1)
        self.assertEqual(b.get(cid).record.fields["full_name"], text("Nguyễn Văn Bình"))

        # In the field, no signal: both phones work offline.
        # Both correct the same citizen's date of birth, differently (a conflict).
        a.update(cid, [Edit.SET("date_of_birth", text("1990-01-03"))])
        b.update(cid, [Edit.SET("date_of_birth", text("1990-02-01")),
                       Edit.SET("phone", text("0912 345 678"))])
        # A registers a household and a CCCD application; B a new citizen and a declaration.
        household = a.create(RecordKind.HOUSEHOLD, UNIT, {
            "address": text("Số 12, khu 3"),
            "head_id": text(cid),
            "members": FieldValue.ENTRIES({cid: FieldValue.ENTRIES({"relationship": text("head")})}),
            "status": text("active"),
        }).record.id
        application = a.create(RecordKind.CCCD_APPLICATION, UNIT, {
            "citizen_id": text(cid),
            "request_type": text("replacement"),
            "fee_paid": FieldValue.BOOL(True),
            "status": text("draft"),
        })
        self.assertEqual(application.findings, [])
        # A typed validation error: nothing is saved.
        with self.assertRaises(ApiError.Validation) as caught:
            a.create(RecordKind.CITIZEN, UNIT, {"date_of_birth": text("31/12/1990")})
        self.assertEqual([(i.field, i.code) for i in caught.exception.issues],
                         [("date_of_birth", "malformed_date")])
        lan = b.create(
            RecordKind.CITIZEN, UNIT,
            # The ID number's sex digit says male: saved, with a finding to show.
            citizen("Nguyễn Thị Lan", "022090005678", "1990-07-07", "female"),
        )
        self.assertIn("id_number_sex_mismatch", [f.code for f in lan.findings])
        b.create(RecordKind.RESIDENCE_DECLARATION, UNIT, {
            "citizen_id": text(lan.record.id),
            "procedure": text("temporary_registration"),
            "from_date": text("2025-08-01"),
            "to_date": text("2026-08-01"),
            "persons": FieldValue.INT(1),
            "status": text("draft"),
        })
        # A adds B's citizen to the household later, and by mistake registers someone in a
        # unit the officer does not work in: the server will refuse that.
        stray = a.create(RecordKind.CITIZEN, OTHER_UNIT,
                         citizen("Phạm Văn Tư", "022080002222", "1980-04-04", "male")).record.id
        self.assertEqual(a.outbox_status().pending_records, 4)
        # Three autosaves of one note: still one more record waiting, three more changes.
        before = a.outbox_status()
        for n in range(3):
            a.update(household, [Edit.SET("notes", text("ghi chú " + str(n)))])
        after = a.outbox_status()
        self.assertEqual(after.pending_records, before.pending_records)
        self.assertEqual(after.pending_changes, before.pending_changes + 3)
        self.assertGreaterEqual(a.outbox_status().oldest_age_ms, 0)

        # Back in signal: A, B, then A again, so each sees the other's work.
        report = self.sync(a)
        self.assertEqual(report.rejected, 1)
        self.sync(b)
        self.sync(a)
        self.assertEqual(a.outbox_status().pending_changes, 0)
        self.assertEqual(b.outbox_status().pending_changes, 0)

        # They converge: same content for every shared record.
        for rid in (cid, household, application.record.id, lan.record.id):
            ra, rb = a.get(rid), b.get(rid)
            self.assertIsNotNone(ra, rid)
            self.assertIsNotNone(rb, rid)
            self.assertEqual(ra.record, rb.record, rid)
        self.assertEqual(a.count(), b.count())
        self.assertEqual(a.get(cid).record.fields["phone"], text("0912 345 678"))

        # The date of birth conflict is visible on both phones, with both values.
        for store in (a, b):
            conflicts = {c.field: c for c in store.conflicts(cid)}
            self.assertIn("date_of_birth", conflicts)
            values = {v.value.value for v in conflicts["date_of_birth"].values}
            self.assertEqual(values, {"1990-01-03", "1990-02-01"})
            # Each value names its author by display name and device ("Lan wrote …, Minh
            # wrote …"), and the phone's own value is marked.
            said = sorted(
                "%s (%s) wrote %s%s" % (v.author.display_name, v.author.device_name,
                                        v.value.value, ", mine" if v.own else "")
                for v in conflicts["date_of_birth"].values
            )
            name_a, name_b = env("FERRY_DISPLAY1"), env("FERRY_DISPLAY2")
            mine_a, mine_b = (", mine", "") if store is a else ("", ", mine")
            self.assertEqual(said, sorted([
                "%s (Phone A) wrote 1990-01-03%s" % (name_a, mine_a),
                "%s (Phone B) wrote 1990-02-01%s" % (name_b, mine_b),
            ]))
            by_user = {v.author.user: v for v in conflicts["date_of_birth"].values}
            self.assertEqual(by_user[env("FERRY_OFFICER1")].value.value, "1990-01-03")
            self.assertEqual(by_user[env("FERRY_OFFICER2")].value.value, "1990-02-01")
            mine = [v for v in conflicts["date_of_birth"].values if v.own]
            self.assertEqual(len(mine), 1)
            self.assertEqual(mine[0].author.user, store.session().username)
            self.assertEqual(mine[0].author.display_name, store.session().display_name)
            winner = conflicts["date_of_birth"].values[0].value
            self.assertEqual(store.get(cid).record.fields["date_of_birth"], winner)
            self.assertEqual(store.get(cid).conflicts, store.conflicts(cid))
        history = a.history(cid)
        written = {h.to.value for h in history if h.field == "date_of_birth" and h.to}
        self.assertLessEqual({"1990-01-03", "1990-02-01"}, written)
        b_edit = [h for h in history if h.field == "phone"][0]
        self.assertFalse(b_edit.own)
        self.assertEqual(b_edit.author.user, env("FERRY_OFFICER2"))
        self.assertEqual(b_edit.author.display_name, env("FERRY_DISPLAY2"))
        self.assertEqual(b_edit.author.device_name, "Phone B")

        # The out-of-scope record came back refused, and is gone from the phone.
        rejected = a.rejected()
        self.assertEqual(len(rejected), 1)
        self.assertEqual(rejected[0].record_id, stray)
        self.assertEqual(rejected[0].code, ffi.RejectionCode.OUT_OF_SCOPE)
        self.assertEqual(rejected[0].code_name, "out_of_scope")
        self.assertTrue(rejected[0].message)
        self.assertIn("full_name", [e.field for e in rejected[0].edits])
        self.assertIsNone(a.get(stray))
        self.assertEqual(b.rejected(), [])
        self.assertTrue(a.dismiss_rejected(rejected[0].id))
        self.assertEqual(a.rejected(), [])

        # Search without diacritics finds "Nguyễn …"; by ID number; by kind and status.
        for store in (a, b):
            people = store.search("nguyen", kind=RecordKind.CITIZEN).records
            names = sorted(r.fields["full_name"].value for r in people)
            self.assertEqual(names, ["Nguyễn Thị Lan", "Nguyễn Văn Bình"])
            self.assertEqual([r.id for r in store.search("nguyen van binh").records], [cid])
            self.assertEqual([r.id for r in store.search("022090005678").records], [lan.record.id])
            # An ID number typed in groups, with spaces or dots, is still an ID number.
            self.assertEqual([r.id for r in store.search("022 090 005 678").records],
                             [lan.record.id])
            self.assertEqual([r.id for r in store.search("022.090.005.678").records],
                             [lan.record.id])
            drafts = store.find(RecordQuery(kind=RecordKind.CCCD_APPLICATION, status="draft",
                                            unit=UNIT))
            self.assertEqual([r.id for r in drafts], [application.record.id])
            self.assertEqual(store.find(RecordQuery(unit=OTHER_UNIT)), [])

    def test_religion_entered_on_a_phone_is_read_online_by_staff_and_kept_by_no_phone(self):
        a = self.a
        record = citizen("Vi Thị Mây", "022190004321", "1990-04-04", "female")
        record["religion"] = text("Tin Lành Việt Nam")
        record["ethnicity"] = text("Nùng")
        cid = a.create(RecordKind.CITIZEN, UNIT, record).record.id
        # Shown to the officer until it is sent, then kept nowhere on the phone.
        self.assertEqual(a.get(cid).record.fields["religion"], text("Tin Lành Việt Nam"))
        self.sync(a)
        self.assertNotIn("religion", a.get(cid).record.fields)
        with self.assertRaises(ApiError.Forbidden) as caught:
            a.read_sensitive(cid)
        self.assertEqual(caught.exception.reason, "sensitive_not_readable")
        staff = ffi.FerryStore.open(os.path.join(self.dir.name, "staff.db"), os.urandom(32))
        staff.login(self.url, env("FERRY_STAFF"), env("FERRY_STAFF_PASSWORD"), "Office tablet")
        self.sync(staff)
        self.assertNotIn("religion", staff.get(cid).record.fields)
        self.assertEqual(
            staff.read_sensitive(cid),
            {"religion": text("Tin Lành Việt Nam"), "ethnicity": text("Nùng")},
        )
        with self.assertRaises(ApiError.NotFound):
            staff.read_sensitive("01980e3c-7a6b-7cc2-9d2e-4f3a2b1c0d9e")

    def test_many_records_take_several_round_trips_with_progress(self):
        a, b = self.a, self.b
        self.sync(a)
        self.sync(b)
        for i in range(40):
            a.create(RecordKind.CITIZEN, UNIT, {
                "full_name": text(f"Đỗ Thị Hoa {i}"),
                "notes": text("ghi chú " * 40),
                "status": text("active"),
            })
        settings = a.sync_settings()
        settings.max_push_bytes = 4096
        a.set_sync_settings(settings)
        progress = Progress()
        report = self.sync(a, progress)
        self.assertGreater(report.round_trips, 1)
        self.assertEqual(report.acknowledged, 40)
        self.assertEqual(report.pending_changes, 0)
        self.assertEqual([e.round_trip for e in progress.events],
                         list(range(1, report.round_trips + 1)))
        self.assertTrue(all(e.more for e in progress.events[:-1]))
        self.assertFalse(progress.events[-1].more)
        self.assertEqual(sum(e.acknowledged for e in progress.events), 40)

        # B pulls them with a small reply budget: several round trips too.
        settings = b.sync_settings()
        settings.max_reply_bytes = 16 * 1024
        b.set_sync_settings(settings)
        progress = Progress()
        report = self.sync(b, progress)
        self.assertGreater(report.round_trips, 1)
        # Records, not entries: each of the 40 counts once.
        self.assertEqual(report.pulled, 40)
        self.assertEqual(progress.events[-1].pulled_total, 40)
        # Each round trip but the last says what the server still has for B.
        self.assertTrue(all(e.remaining_records is not None for e in progress.events))
        self.assertGreater(progress.events[0].remaining_records, 0)
        self.assertGreater(progress.events[0].remaining_bytes, 0)
        self.assertEqual(progress.events[-1].remaining_records, 0)
        for e in progress.events[:-1]:
            self.assertLessEqual(e.pulled_total + e.remaining_records, 45)
        self.assertEqual(b.search("do thi hoa").total, 40)
        # The settings were saved in the store: a restart keeps them.
        reopened = ffi.FerryStore.open(self.path_b, self.key_b)
        self.assertEqual(reopened.sync_settings().max_reply_bytes, 16 * 1024)
        reopened = None

    def test_cancel_stops_between_round_trips(self):
        for i in range(10):
            self.a.create(RecordKind.CITIZEN, UNIT, {"full_name": text(f"Hủy {i}"),
                                                     "status": text("active")})
        cancel = ffi.CancelToken()

        class CancelAfterFirst(Progress):
            def on_round_trip(self, event):
                super().on_round_trip(event)
                cancel.cancel()

        settings = self.a.sync_settings()
        settings.max_push_bytes = 1
        self.a.set_sync_settings(settings)
        progress = CancelAfterFirst()
        report = self.a.sync(progress, cancel)
        self.assertTrue(report.cancelled)
        self.assertEqual(report.round_trips, 1)
        self.assertTrue(report.more)
        self.assertEqual(report.pending_records, 9)
        settings.max_push_bytes = 256 * 1024
        self.a.set_sync_settings(settings)
        self.assertEqual(self.sync(self.a).pending_changes, 0)

    def test_sans_io_sync_with_the_apps_own_http_client(self):
        b = self.b
        b.create(RecordKind.CITIZEN, UNIT, {"full_name": text("Bùi Văn Sáu"),
                                            "status": text("active")})
        more = True
        while more:
            request = urllib.request.Request(
                self.url + "/v1/sync",
                data=b.prepare_sync(),
                method="POST",
                headers={
                    "Authorization": "Bearer " + b.bearer_token(),
                    "Content-Type": "application/cbor",
                },
            )
            with urllib.request.urlopen(request, timeout=60) as response:
                report = b.apply_sync_reply(response.read())
            more = report.more
        self.assertEqual(b.outbox_status().pending_changes, 0)

    def test_wrong_key_and_pin(self):
        with self.assertRaises(ApiError.WrongKey):
            ffi.FerryStore.open(self.path_a, bytes(32))
        wrong_pin = ffi.derive_key_from_pin("000000", self.salt)
        with self.assertRaises(ApiError.WrongKey):
            ffi.FerryStore.open(self.path_a, wrong_pin)
        with self.assertRaises(ApiError.InvalidKey):
            ffi.FerryStore.open(self.path_a, b"short")
        with self.assertRaises(ApiError.AuthFailed):
            ffi.FerryStore.open(os.path.join(self.dir.name, "x.db"), os.urandom(32)).login(
                self.url, env("FERRY_OFFICER1"), "not the password")
        # A file that is not an encrypted store is not a PIN problem.
        junk = os.path.join(self.dir.name, "junk.db")
        with open(junk, "wb") as f:
            f.write(b"\0" * 5000)
        with self.assertRaises(ApiError.CorruptStore):
            ffi.FerryStore.open(junk, self.key_a)
        # A wrong PIN writes nothing: the files are byte-for-byte the same afterwards.
        before = [open(self.path_a + s, "rb").read() if os.path.exists(self.path_a + s) else b""
                  for s in ("", "-wal")]
        with self.assertRaises(ApiError.WrongKey):
            ffi.FerryStore.open(self.path_a, ffi.derive_key_from_pin("111111", self.salt))
        after = [open(self.path_a + s, "rb").read() if os.path.exists(self.path_a + s) else b""
                 for s in ("", "-wal")]
        self.assertTrue(before == after)

    def test_printed_objects_hold_no_personal_data(self):
        saved = self.a.create(RecordKind.CITIZEN, UNIT, citizen(
            "Hoàng Thị Mười", "022190009999", "1990-10-10", "female"))
        page = self.a.search("hoang thi muoi")
        printed = " ".join([repr(saved), str(saved), repr(page), str(page),
                            repr(saved.record.fields["full_name"]),
                            repr(self.a.history(saved.record.id))])
        for secret in ("Mười", "Muoi", "022190009999", "1990-10-10"):
            self.assertNotIn(secret, printed)
        self.assertIn(saved.record.id, printed)

    def test_sign_out_ends_the_token_and_locks_personal_data(self):
        path = os.path.join(self.dir.name, "phone-d.db")
        salt = ffi.new_salt()
        d = ffi.FerryStore.open_with_pin(path, "135790", salt)
        d.login(self.url, env("FERRY_OFFICER3"), env("FERRY_PASSWORD3"), "Phone D")
        token = d.bearer_token()
        rid = d.create(RecordKind.CITIZEN, UNIT, citizen(
            "Đinh Văn Tám", "022090008888", "1990-08-08", "male")).record.id
        app = d.create(RecordKind.CCCD_APPLICATION, UNIT, {
            "citizen_id": text(rid), "id_number": text("022090008888"),
            "request_type": text("replacement"), "status": text("submitted")}).record.id
        # A new login on the same phone ends the earlier token.
        d.login(self.url, env("FERRY_OFFICER3"), env("FERRY_PASSWORD3"), "Phone D")
        self.assertEqual(self.raw_sync_status(token, d), 401)
        token = d.bearer_token()
        self.assertEqual(self.raw_sync_status(token, d), 200)
        # Logout reaches the server: the token is dead there too.
        self.assertTrue(d.logout())
        self.assertTrue(d.is_signed_out())
        self.assertEqual(self.raw_sync_status(token, d), 401)
        # Signed out, the last role's rules still hold: an officer may not accept.
        with self.assertRaises(ApiError.StatusNotAllowed) as refused:
            d.update(app, [Edit.SET("status", text("accepted"))])
        self.assertEqual(refused.exception.to, "accepted")
        # Opened with the PIN, records stay readable; with the key alone they do not.
        self.assertIsNotNone(d.get(rid))
        d = None
        e = ffi.FerryStore.open(path, ffi.derive_key_from_pin("135790", salt))
        with self.assertRaises(ApiError.SignedOut):
            e.get(rid)
        with self.assertRaises(ApiError.SignedOut):
            e.search("dinh")
        self.assertTrue(e.unlock_with_pin("135790", salt))
        self.assertIsNotNone(e.get(rid))
        e.set_signed_out_access(ffi.SignedOutAccess.READABLE)
        self.assertEqual(e.signed_out_access(), ffi.SignedOutAccess.READABLE)
        # Offline logout: the token is ended at the next contact (the next login).
        e.login(self.url, env("FERRY_OFFICER3"), env("FERRY_PASSWORD3"), "Phone D")
        token = e.bearer_token()
        f_path = os.path.join(self.dir.name, "phone-f.db")
        f = ffi.FerryStore.open(f_path, os.urandom(32))
        proxy = Proxy(self.url)
        f.login(proxy.url, env("FERRY_OFFICER3"), env("FERRY_PASSWORD3"), "Phone F")
        f_token = f.bearer_token()
        proxy.close()  # the link drops
        self.assertFalse(f.logout(), "offline: not ended yet")
        self.assertEqual(self.raw_sync_status(f_token, f), 200, "still alive on the server")
        f.login(self.url, env("FERRY_OFFICER3"), env("FERRY_PASSWORD3"), "Phone F")
        self.assertEqual(self.raw_sync_status(f_token, f), 401)

    def test_a_person_search_pages_through_865_matches_with_a_total(self):
        p = ffi.FerryStore.open(os.path.join(self.dir.name, "phone-p.db"), os.urandom(32))
        ids = set()
        for i in range(865):
            ids.add(p.create(RecordKind.CITIZEN, UNIT, {
                "full_name": text(f"Trần Văn Phấn {i}"), "status": text("active")}).record.id)
        # The person's card application matches the name too, but not a person search.
        p.create(RecordKind.CCCD_APPLICATION, UNIT, {
            "full_name": text("Trần Văn Phấn"), "request_type": text("first_issue"),
            "status": text("draft")})
        self.assertEqual(p.search("tran van phan").total, 866)
        seen, offset, pages = [], 0, 0
        while offset is not None:
            page = p.search("tran van phan", kind=RecordKind.CITIZEN, offset=offset, limit=100)
            self.assertEqual(page.total, 865)
            self.assertEqual(page.offset, offset)
            self.assertLessEqual(len(page.records), 100)
            seen += [r.id for r in page.records]
            offset, pages = page.next_offset, pages + 1
        self.assertEqual(pages, 9)
        self.assertEqual(len(seen), 865)
        self.assertEqual(set(seen), ids)
        # Words match from their start, in order, diacritics ignored: "ph" finds Phấn,
        # "han" (inside Phấn) finds nobody, and "van tran" is not "Trần Văn".
        self.assertEqual(p.search("tr v ph", kind=RecordKind.CITIZEN).total, 865)
        self.assertEqual(p.search("han", kind=RecordKind.CITIZEN).total, 0)
        self.assertEqual(p.search("van tran", kind=RecordKind.CITIZEN).total, 0)
        self.assertEqual(p.search("phan 86", kind=RecordKind.CITIZEN).total, 6)

    def test_an_over_long_text_is_refused_when_saved(self):
        notes = next(f for f in ffi.field_specs(RecordKind.CITIZEN) if f.name == "notes")
        self.assertEqual(notes.max_chars, 4000)
        q = ffi.FerryStore.open(os.path.join(self.dir.name, "phone-q.db"), os.urandom(32))
        rid = q.create(RecordKind.CITIZEN, UNIT, {"full_name": text("Lý Văn Dài"),
                                                  "status": text("active")}).record.id
        before = q.outbox_status().pending_changes
        with self.assertRaises(ApiError.Validation) as caught:
            q.update(rid, [Edit.SET("notes", text("ư" * 4001))])
        self.assertEqual([(i.field, i.code) for i in caught.exception.issues],
                         [("notes", "too_long")])
        self.assertEqual(q.outbox_status().pending_changes, before, "nothing was saved")
        q.update(rid, [Edit.SET("notes", text("ư" * 4000))])

    def test_a_wiped_phone_is_set_up_again_with_one_call(self):
        ferry, data_dir = env("FERRY_BIN"), env("FERRY_DATA_DIR")
        h = ffi.FerryStore.open(os.path.join(self.dir.name, "phone-h.db"), os.urandom(32))
        h.login(self.url, env("FERRY_OFFICER3"), env("FERRY_PASSWORD3"), "Phone H")
        rid = h.create(RecordKind.CITIZEN, UNIT, {"full_name": text("Mai Thị Xoá"),
                                                  "status": text("active")}).record.id
        self.sync(h)
        old_id = h.device_id()
        subprocess.run([ferry, "--data-dir", data_dir, "device", "revoke", old_id],
                       check=True, capture_output=True)
        report = h.sync(Progress(), ffi.CancelToken())
        self.assertTrue(report.wiped)
        self.assertTrue(h.is_wiped())
        with self.assertRaises(ApiError.Wiped):
            h.get(rid)
        # One call: a new, empty store with a new identity; then an ordinary login.
        new_id = h.reset_device()
        self.assertNotEqual(new_id, old_id)
        self.assertEqual(h.device_id(), new_id)
        self.assertFalse(h.is_wiped())
        self.assertEqual(h.count(), 0)
        h.login(self.url, env("FERRY_OFFICER3"), env("FERRY_PASSWORD3"), "Phone H")
        self.sync(h)
        self.assertEqual(h.get(rid).record.fields["full_name"], text("Mai Thị Xoá"))

    def test_units_follow_the_office(self):
        ferry, data_dir = env("FERRY_BIN"), env("FERRY_DATA_DIR")
        g = ffi.FerryStore.open(os.path.join(self.dir.name, "phone-g.db"), os.urandom(32))
        g.login(self.url, env("FERRY_OFFICER4"), env("FERRY_PASSWORD4"), "Phone G")
        self.assertEqual(g.session().units, [UNIT])
        subprocess.run([ferry, "--data-dir", data_dir, "user", "assign", env("FERRY_OFFICER4"),
                        "--unit", OTHER_UNIT], check=True, capture_output=True)
        self.sync(g)
        self.assertEqual(g.session().units, [OTHER_UNIT])

    def raw_sync_status(self, token, store):
        request = urllib.request.Request(
            self.url + "/v1/sync", data=store.prepare_sync(), method="POST",
            headers={"Authorization": "Bearer " + token, "Content-Type": "application/cbor"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                store.apply_sync_reply(response.read())
                return response.status
        except urllib.error.HTTPError as e:
            return e.code



if __name__ == "__main__":
    unittest.main()
