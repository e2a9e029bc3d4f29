// Kotlin attachment test, run by mobile-ffi/scripts/kotlin-test.sh: two phones, a photo
// attached offline on the first, synced and uploaded over a link that cuts connections
// (FERRY_LINK_URL, mobile-ffi/scripts/cutting-relay.py), fetched byte-identical by the
// second. Needs FERRY_LINK_URL, FERRY_USER, FERRY_PASSWORD, FERRY_USER2, FERRY_PASSWORD2 and
// a writable FERRY_WORK_DIR. Run with -J-ea.

import vn.ferry.core.*
import java.io.File
import kotlin.random.Random

fun env(name: String): String = System.getenv(name) ?: error("$name is not set")

class Quiet : SyncProgress {
    override fun onRoundTrip(event: SyncProgressEvent) {}
}

class Moves : TransferProgress {
    val events = mutableListOf<Pair<ULong, ULong>>()
    override fun onProgress(hash: String, done: ULong, total: ULong) {
        events.add(done to total)
    }
}

fun <T> retrying(call: () -> T): T {
    val deadline = System.currentTimeMillis() + 120_000
    while (true) {
        try {
            return call()
        } catch (e: ApiException.Network) {
            if (System.currentTimeMillis() > deadline) throw e
            Thread.sleep(200)
        }
    }
}

val assertsOn = try { assert(false); false } catch (e: AssertionError) { true }
check(assertsOn) { "run with -J-ea so that assertions are checked" }

val link = env("FERRY_LINK_URL")
val work = File(env("FERRY_WORK_DIR")).apply { mkdirs() }
// A JPEG header, then noise: incompressible like a real photo.
val photo = byteArrayOf(0xFF.toByte(), 0xD8.toByte(), 0xFF.toByte(), 0xE0.toByte()) +
    Random(7).nextBytes(400_000)

FerryStore.open(File(work, "a.db").path, Random.nextBytes(32)).use { a ->
    FerryStore.open(File(work, "b.db").path, Random.nextBytes(32)).use { b ->
        retrying { a.login(link, env("FERRY_USER"), env("FERRY_PASSWORD"), "Phone A") }
        retrying { b.login(link, env("FERRY_USER2"), env("FERRY_PASSWORD2"), "Phone B") }
        // Offline: the record and its photo.
        val id = a.create(
            RecordKind.CITIZEN, "07132",
            mapOf("full_name" to FieldValue.Text("Lê Văn Hùng"), "status" to FieldValue.Text("active")),
        ).record.id
        val file = File(work, "camera.jpg").apply { writeBytes(photo) }
        val info = a.attachFile(id, "portrait", file.path)
        file.delete()
        assert(info.mimeType == "image/jpeg") { info.mimeType }
        assert(info.state == AttachmentState.UPLOADING)
        // Signal again, over the cutting link.
        retrying { a.sync(Quiet(), CancelToken()) }
        val moves = Moves()
        val deadline = System.currentTimeMillis() + 120_000
        while (a.attachments(id)[0].state != AttachmentState.UPLOADED) {
            check(System.currentTimeMillis() < deadline) { "the upload never finished" }
            val s = a.uploadAttachments(moves)
            assert(s.refused == 0u)
            if (s.done == 0u) Thread.sleep(500)
        }
        assert(moves.events.last() == photo.size.toULong() to photo.size.toULong())
        retrying { b.sync(Quiet(), CancelToken()) }
        val seen = b.attachments(id)
        assert(seen.size == 1 && seen[0].state == AttachmentState.REMOTE)
        val got = retrying { b.fetchAttachment(id, info.hash, Moves()) }
        assert(got.contentEquals(photo)) { "the fetched photo differs" }
        assert(b.attachments(id)[0].state == AttachmentState.AVAILABLE)
    }
}
println("KOTLIN ATTACH TEST OK")
