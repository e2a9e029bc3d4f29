"""Attachments through the generated Python bindings (stdlib only).

Run by tests/tests/integration/attachment_bindings.rs, which starts a real `ferry`, a link
simulator in front of it that cuts connections in the middle of uploads, and:

    PYTHONPATH=<bindings dir> python3 -m unittest -v test_attachments

Environment:
    FERRY_LINK_URL                    the server through the cutting link
    FERRY_OFFICER1, FERRY_PASSWORD1   an officer of unit 07132 (phone A)
    FERRY_OFFICER2, FERRY_PASSWORD2   another officer of unit 07132 (phone B)
"""

import os
import random
import tempfile
import threading
import time
import unittest

import mobile_ffi as ffi
from mobile_ffi import ApiError, AttachmentState, FieldValue, RecordKind

UNIT = "07132"


def env(name):
    value = os.environ.get(name)
    if not value:
        raise unittest.SkipTest(name + " is not set")
    return value


def photo(size):
    """A JPEG-looking photo: a JPEG header, then noise (incompressible, like a real one)."""
    rng = random.Random(7)
    head = bytes([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10]) + b"JFIF\x00"
    return head + bytes(rng.getrandbits(8) for _ in range(size - len(head)))


class Progress(ffi.TransferProgress):
    def __init__(self):
        self.events = []
        self.lock = threading.Lock()

    def on_progress(self, hash, done, total):
        with self.lock:
            self.events.append((hash, done, total))


def retrying(call, seconds=120):
    """Calls `call` until it stops failing on the link (the simulator cuts connections)."""
    deadline = time.time() + seconds
    while True:
        try:
            return call()
        except ApiError.Network:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


class Attachments(unittest.TestCase):
    def test_a_photo_attached_offline_reaches_a_second_phone_byte_identical(self):
        link = env("FERRY_LINK_URL")
        with tempfile.TemporaryDirectory() as d:
            a = ffi.FerryStore.open(os.path.join(d, "a.db"), os.urandom(32))
            b = ffi.FerryStore.open(os.path.join(d, "b.db"), os.urandom(32))
            retrying(lambda: a.login(link, env("FERRY_OFFICER1"), env("FERRY_PASSWORD1"), "Phone A"))
            retrying(lambda: b.login(link, env("FERRY_OFFICER2"), env("FERRY_PASSWORD2"), "Phone B"))

            # Offline: a citizen and her portrait; nothing touches the network.
            saved = a.create(
                RecordKind.CITIZEN,
                UNIT,
                {"full_name": FieldValue.TEXT("Trần Thị Lan"), "status": FieldValue.TEXT("active")},
            )
            rid = saved.record.id
            picture = photo(300_000)
            info = a.attach(rid, "portrait", picture)
            self.assertEqual(info.mime_type, "image/jpeg")
            self.assertEqual(info.state, AttachmentState.UPLOADING)
            self.assertEqual(info.size, len(picture))
            with self.assertRaises(ApiError.Validation):
                a.attach(rid, "portrait", b"#!/bin/sh\n")

            # Back in signal, over a link that cuts: the record syncs, then the photo goes up.
            retrying(lambda: a.sync(_NoProgress(), ffi.CancelToken()))
            progress = Progress()
            deadline = time.time() + 120
            while a.attachments(rid)[0].state != AttachmentState.UPLOADED:
                self.assertLess(time.time(), deadline, "the upload never finished")
                summary = a.upload_attachments(progress)
                self.assertEqual(summary.refused, 0)
                if summary.done == 0:
                    time.sleep(0.5)  # the queue's backoff after a cut
            self.assertEqual(progress.events[-1][1:], (len(picture), len(picture)))

            # Phone B gets the record, sees the attachment as remote, fetches it on demand.
            retrying(lambda: b.sync(_NoProgress(), ffi.CancelToken()))
            seen = b.attachments(rid)
            self.assertEqual(len(seen), 1)
            self.assertEqual(seen[0].state, AttachmentState.REMOTE)
            self.assertEqual(seen[0].attached_by, env("FERRY_OFFICER1"))
            fetched = Progress()
            got = retrying(lambda: b.fetch_attachment(rid, info.hash, fetched))
            self.assertEqual(got, picture, "byte-identical")
            self.assertEqual(b.attachments(rid)[0].state, AttachmentState.AVAILABLE)
            self.assertTrue(fetched.events)

            # Phone C prefetches portraits up to 512 KiB: the photo is there before it is shown.
            c = ffi.FerryStore.open(os.path.join(d, "c.db"), os.urandom(32))
            retrying(lambda: c.login(link, env("FERRY_OFFICER2"), env("FERRY_PASSWORD2"), "Phone C"))
            with self.assertRaises(ApiError.InvalidArgument):
                c.set_attachment_prefetch(["selfie"], 1)
            self.assertEqual(c.set_attachment_prefetch(["portrait"], 512 * 1024), 0)
            setting = c.attachment_prefetch()
            self.assertEqual((setting.kinds, setting.max_bytes), (["portrait"], 512 * 1024))
            retrying(lambda: c.sync(_NoProgress(), ffi.CancelToken()))
            self.assertEqual(c.attachments(rid)[0].state, AttachmentState.REMOTE)
            deadline = time.time() + 120
            while True:
                summary = c.prefetch_attachments(Progress())
                self.assertEqual(summary.failed, 0)
                if summary.left == 0:
                    break
                self.assertLess(time.time(), deadline, "the prefetch never finished")
                time.sleep(0.2)  # the link cut the fetch; the next call resumes it
            self.assertEqual(c.attachments(rid)[0].state, AttachmentState.AVAILABLE)
            self.assertEqual(c.fetch_attachment(rid, info.hash, Progress()), picture)


class _NoProgress(ffi.SyncProgress):
    def on_round_trip(self, event):
        pass
