// Kotlin binding test, run by mobile-ffi/scripts/kotlin-test.sh (and so by .ci/run):
// open an encrypted store, create a record, sync with a live `ferry` server, and catch
// mapped errors. Needs FERRY_URL, FERRY_USER, FERRY_PASSWORD and a writable FERRY_WORK_DIR.
// Run with -J-ea so `assert` is checked.

import vn.ferry.core.*
import java.io.File

fun env(name: String): String = System.getenv(name) ?: error("$name is not set")

fun text(s: String): FieldValue = FieldValue.Text(s)

class CountingProgress : SyncProgress {
    val events = mutableListOf<SyncProgressEvent>()
    override fun onRoundTrip(event: SyncProgressEvent) {
        events.add(event)
    }
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
    val session = store.login(url, env("FERRY_USER"), env("FERRY_PASSWORD"), "Kotlin test phone")
    assert(session.role == UserRole.OFFICER) { "role ${session.role}" }
    assert(session.units == listOf("07132")) { "units ${session.units}" }

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
    // Printing never shows personal data.
    val printed = "$saved ${found} ${store.history(id)}"
    assert(!printed.contains("Kotlin") && !printed.contains("022090003333")) { printed }
    // Names with history entries: all this phone's own.
    assert(store.history(id).all { it.own && it.author?.user == env("FERRY_USER") })
    // Settings are kept in the store.
    store.setSyncSettings(store.syncSettings().copy(appVersion = "kotlin-test/1"))
    assert(store.find(RecordQuery(idNumber = "022090")).size == 1)
    println("synced ${report.roundTrips} round trip(s), ${report.bytesSent} bytes sent")
    // Logout ends the token on the server.
    assert(store.logout())
    assert(store.isSignedOut())
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
println("KOTLIN FIELD TEST OK")
