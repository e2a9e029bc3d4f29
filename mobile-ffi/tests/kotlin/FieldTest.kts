// Kotlin binding test, run by mobile-ffi/scripts/kotlin-test.sh (and so by .ci/run):
// open an encrypted store, create a record, sync with a live `ferry` server, and catch
// mapped errors; then each point of issue 15 through the bindings: sign-out ends the token
// on the server, conflict values name their officers, a person search pages through 865
// matches with a total, a wiped phone is set up again with one call, over-long text is
// refused when saved. Needs FERRY_URL, FERRY_USER, FERRY_PASSWORD, FERRY_USER2,
// FERRY_PASSWORD2 (a second officer of the unit), FERRY_BIN and FERRY_DATA_DIR (the server's
// binary and data dir, to revoke a device) and a writable FERRY_WORK_DIR.
// Run with -J-ea so `assert` is checked.

import vn.ferry.core.*
import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse

fun env(name: String): String = System.getenv(name) ?: error("$name is not set")

fun text(s: String): FieldValue = FieldValue.Text(s)

class CountingProgress : SyncProgress {
    val events = mutableListOf<SyncProgressEvent>()
    override fun onRoundTrip(event: SyncProgressEvent) {
        events.add(event)
    }
}

/** The HTTP status the server gives `token` for a sync (200 alive, 401 ended). */
fun syncStatus(store: FerryStore, token: String): Int {
    val request = HttpRequest.newBuilder(URI.create(env("FERRY_URL") + "/v1/sync"))
        .header("Authorization", "Bearer $token")
        .header("Content-Type", "application/cbor")
        .POST(HttpRequest.BodyPublishers.ofByteArray(store.prepareSync()))
        .build()
    val reply = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofByteArray())
    if (reply.statusCode() == 200) store.applySyncReply(reply.body())
    return reply.statusCode()
}

fun ferryCli(vararg args: String) {
    val process = ProcessBuilder(env("FERRY_BIN"), "--data-dir", env("FERRY_DATA_DIR"), *args)
        .redirectErrorStream(true).start()
    val output = process.inputStream.bufferedReader().readText()
    check(process.waitFor() == 0) { "ferry ${args.joinToString(" ")}: $output" }
}

val assertsOn = try {
    assert(false)
    false
} catch (e: AssertionError) {
    true
}
check(assertsOn) { "run with -J-ea so that assertions are checked" }

val url = env("FERRY_URL")
val work = File(env("FERRY_WORK_DIR")).apply { mkdirs() }
val dbPath = File(work, "phone.db").path

// Key from a PIN (argon2id) for this test; an app would rather use the Android Keystore.
val salt = newSalt()
val key = deriveKeyFromPin("482913", salt)
assert(key.size == 32)

FerryStore.open(dbPath, key).use { store ->
    val session = store.login(url, env("FERRY_USER"), env("FERRY_PASSWORD"), "Pixel test phone")
    assert(session.role == UserRole.OFFICER) { "role ${session.role}" }
    assert(session.units == listOf("07132")) { "units ${session.units}" }
    assert(session.displayName == env("FERRY_DISPLAY")) { "display name ${session.displayName}" }

    val saved = store.create(
        RecordKind.CITIZEN,
        "07132",
        mapOf(
            "full_name" to text("Nguyễn Văn Kotlin"),
            "id_number" to text("022090003333"),
            "date_of_birth" to text("1990-03-03"),
            "sex" to text("male"),
            "status" to text("active"),
        ),
    )
    assert(saved.findings.isEmpty()) { "findings ${saved.findings}" }
    val id = saved.record.id
    store.update(id, listOf(Edit.Set("phone", text("0987 654 321"))))
    assert(store.outboxStatus().pendingChanges == 2UL)
    assert(store.outboxStatus().pendingRecords == 1UL)

    // A typed validation error.
    try {
        store.update(id, listOf(Edit.Set("date_of_birth", text("03/03/1990"))))
        error("an invalid date was accepted")
    } catch (e: ApiException.Validation) {
        assert(e.issues.single().field == "date_of_birth")
        assert(e.issues.single().code == "malformed_date")
    }

    val progress = CountingProgress()
    val report = store.sync(progress, CancelToken())
    assert(report.acknowledged == 2UL) { "report $report" }
    assert(report.pendingChanges == 0UL) { "report $report" }
    assert(report.remainingRecords == 0UL) { "report $report" }
    assert(!report.wiped && !report.cancelled)
    assert(progress.events.isNotEmpty()) { "no progress callback" }
    assert(progress.events.first().pushed == 2UL)
    assert(store.outboxStatus().pendingChanges == 0UL)

    val found = store.search("nguyen van kotlin")
    assert(found.records.map { it.id } == listOf(id)) { "search gave $found" }
    assert(found.total == 1UL && found.nextOffset == null)
    assert(store.search("022 090 003 333", RecordKind.CITIZEN).total == 1UL)
    // Printing never shows the citizen's data (history entries print their authors: the
    // officer's and the phone's names).
    val printed = "$saved ${found} ${store.history(id)}"
    assert(!printed.contains("Kotlin") && !printed.contains("022090003333")) { printed }
    // Names with history entries: all this phone's own, with its display and device names.
    assert(store.history(id).all {
        it.own && it.author?.user == env("FERRY_USER") &&
            it.author?.displayName == env("FERRY_DISPLAY") && it.author?.deviceName == "Pixel test phone"
    }) { "history authors ${store.history(id).map { it.author }}" }
    // Sensitive values (religion, ethnicity, …) are never kept on a phone, and an officer
    // may not read them online either (docs/protocol.md §12).
    try {
        store.readSensitive(id)
        error("an officer read sensitive values")
    } catch (e: ApiException.Forbidden) {
        assert(e.reason == "sensitive_not_readable") { e.reason }
    }
    // Settings are kept in the store.
    store.setSyncSettings(store.syncSettings().copy(appVersion = "kotlin-test/1"))
    assert(store.find(RecordQuery(idNumber = "022090")).size == 1)
    println("synced ${report.roundTrips} round trip(s), ${report.bytesSent} bytes sent")
    // Logout ends the token on the server.
    val token = store.bearerToken()
    assert(syncStatus(store, token) == 200)
    assert(store.logout())
    assert(store.isSignedOut())
    assert(syncStatus(store, token) == 401) { "the token still works after logout" }
}

// Mapped errors: a wrong key, and a wrong password.
try {
    FerryStore.open(dbPath, ByteArray(32) { 7 })
    error("a wrong key opened the store")
} catch (e: ApiException.WrongKey) {
    println("wrong key refused: ${e.message}")
}
try {
    FerryStore.open(dbPath, deriveKeyFromPin("000000", salt))
    error("a wrong PIN opened the store")
} catch (e: ApiException.WrongKey) {
}
try {
    FerryStore.open(File(work, "other.db").path, ByteArray(32) { 1 }).use {
        it.login(url, env("FERRY_USER"), "not the password")
    }
    error("a wrong password logged in")
} catch (e: ApiException.AuthFailed) {
    println("wrong password refused")
}

// The store opens again with the PIN-derived key and still holds the record.
FerryStore.openWithPin(dbPath, "482913", salt).use { store ->
    assert(store.count() == 1UL)
    assert(store.search("nguyen").records.single().fields["phone"] == text("0987 654 321"))
    assert(store.syncSettings().appVersion == "kotlin-test/1")
    // A foreign file is not a wrong PIN.
    val junk = File(work, "junk.db").apply { writeBytes(ByteArray(5000)) }
    try {
        FerryStore.open(junk.path, key)
        error("a blank file opened")
    } catch (e: ApiException.CorruptStore) {
    }
    // Starting over: a new identity in one call.
    val old = store.deviceId()
    assert(store.resetDevice() != old)
    assert(store.count() == 0UL)
}
// Signed out and opened without the PIN: personal data stays locked.
FerryStore.open(File(work, "locked.db").path, key).use { store ->
    store.create(RecordKind.CITIZEN, "07132", mapOf("full_name" to text("Khoá"), "status" to text("active")))
    store.login(url, env("FERRY_USER"), env("FERRY_PASSWORD"), "Kotlin test phone 2")
    store.logout()
}
FerryStore.open(File(work, "locked.db").path, key).use { store ->
    try {
        store.search("khoa")
        error("a signed-out store showed records")
    } catch (e: ApiException.SignedOut) {
    }
}

// Two officers edit the same date of birth offline: each value names its officer by display
// name and device ("Lan wrote …, Minh wrote …"), and the phone's own is marked.
FerryStore.open(File(work, "conflict-a.db").path, ByteArray(32) { 11 }).use { a ->
    FerryStore.open(File(work, "conflict-b.db").path, ByteArray(32) { 12 }).use { b ->
        a.login(url, env("FERRY_USER"), env("FERRY_PASSWORD"), "Phone A")
        b.login(url, env("FERRY_USER2"), env("FERRY_PASSWORD2"), "Phone B")
        val id = a.create(RecordKind.CITIZEN, "07132", mapOf(
            "full_name" to text("Trịnh Văn Xung"), "date_of_birth" to text("1985-03-12"),
            "status" to text("active"))).record.id
        a.sync(CountingProgress(), CancelToken())
        b.sync(CountingProgress(), CancelToken())
        a.update(id, listOf(Edit.Set("date_of_birth", text("1985-03-13"))))
        b.update(id, listOf(Edit.Set("date_of_birth", text("1985-02-03"))))
        for (store in listOf(a, b, a)) store.sync(CountingProgress(), CancelToken())
        val values = a.conflicts(id).single { it.field == "date_of_birth" }.values
        val byUser = values.associate { it.author?.user to (it.value as FieldValue.Text).value }
        assert(byUser == mapOf(env("FERRY_USER") to "1985-03-13", env("FERRY_USER2") to "1985-02-03")) {
            "conflict values $values"
        }
        // The device's own value is marked `own` (its author is this device's user).
        assert(values.single { it.own }.let {
            it.author?.user == env("FERRY_USER") && (it.value as FieldValue.Text).value == "1985-03-13"
        }) {
            "own value's author ${values.map { Triple(it.own, it.author?.user, it.author?.deviceName) }}"
        }
        for ((store, own) in listOf(a to "Phone A", b to "Phone B")) {
            val said = store.conflicts(id).single { it.field == "date_of_birth" }.values.map {
                val who = it.author!!
                "${who.displayName} (${who.deviceName}) wrote ${(it.value as FieldValue.Text).value}" +
                    if (it.own) ", mine" else ""
            }.sorted()
            val expected = listOf(
                "${env("FERRY_DISPLAY")} (Phone A) wrote 1985-03-13" + if (own == "Phone A") ", mine" else "",
                "${env("FERRY_DISPLAY2")} (Phone B) wrote 1985-02-03" + if (own == "Phone B") ", mine" else "",
            ).sorted()
            assert(said == expected) { "on $own: $said" }
        }
        a.logout()
        b.logout()
    }
}

// A person search pages through 865 matches with a total, and over-long text is refused.
FerryStore.open(File(work, "search.db").path, ByteArray(32) { 13 }).use { store ->
    for (i in 0 until 865) {
        store.create(RecordKind.CITIZEN, "07132", mapOf(
            "full_name" to text("Trần Văn Phấn $i"), "status" to text("active")))
    }
    store.create(RecordKind.CCCD_APPLICATION, "07132", mapOf(
        "full_name" to text("Trần Văn Phấn"), "request_type" to text("first_issue"),
        "status" to text("draft")))
    val seen = mutableSetOf<String>()
    var offset: UInt? = 0u
    var pages = 0
    while (offset != null) {
        val page = store.search("tran van phan", RecordKind.CITIZEN, offset, 100u)
        assert(page.total == 865UL) { "total ${page.total}" }
        page.records.forEach { seen.add(it.id) }
        offset = page.nextOffset
        pages++
    }
    assert(pages == 9 && seen.size == 865) { "$pages pages, ${seen.size} records" }
    assert(store.search("tran van phan").total == 866UL)
    assert(store.search("han", RecordKind.CITIZEN).total == 0UL)

    val notes = fieldSpecs(RecordKind.CITIZEN).single { it.name == "notes" }
    val id = seen.first()
    try {
        store.update(id, listOf(Edit.Set("notes", text("ư".repeat(notes.maxChars.toInt() + 1)))))
        error("an over-long note was saved")
    } catch (e: ApiException.Validation) {
        assert(e.issues.single().code == "too_long" && e.issues.single().field == "notes")
    }
}

// The office revokes a phone: its next sync wipes it, and one call sets it up again.
FerryStore.open(File(work, "wiped.db").path, ByteArray(32) { 14 }).use { store ->
    store.login(url, env("FERRY_USER"), env("FERRY_PASSWORD"), "Phone W")
    val id = store.create(RecordKind.CITIZEN, "07132", mapOf(
        "full_name" to text("Phan Thị Xoá"), "status" to text("active"))).record.id
    store.sync(CountingProgress(), CancelToken())
    val old = store.deviceId()
    ferryCli("device", "revoke", old)
    assert(store.sync(CountingProgress(), CancelToken()).wiped)
    try {
        store.get(id)
        error("a wiped store showed a record")
    } catch (e: ApiException.Wiped) {
    }
    val fresh = store.resetDevice()
    assert(fresh != old && !store.isWiped() && store.count() == 0UL)
    store.login(url, env("FERRY_USER"), env("FERRY_PASSWORD"), "Phone W")
    store.sync(CountingProgress(), CancelToken())
    assert(store.get(id)?.record?.fields?.get("full_name") == text("Phan Thị Xoá"))
}
println("KOTLIN FIELD TEST OK")
