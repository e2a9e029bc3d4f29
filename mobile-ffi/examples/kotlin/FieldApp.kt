// A complete command-line example of the Ferry phone API in Kotlin, compiled and run by CI
// (mobile-ffi/scripts/kotlin-test.sh) against a live `ferry` server:
//
//   login → offline create → sync with progress and cancellation → conflict display with
//   names → handling of each error `ApiException` can carry.
//
// Usage: FieldApp <server-url> <username> <password> <work-dir>
// An Android app makes the same calls from `withContext(Dispatchers.IO) { … }`; a command-line
// program has no UI thread, so it calls them directly.

import vn.ferry.core.*
import java.io.File
import kotlin.system.exitProcess

fun text(s: String): FieldValue = FieldValue.Text(s)

/** Prints each round trip as a progress line; cancels after `cancelAfter` round trips. */
class PrintingProgress(private val cancel: CancelToken, private val cancelAfter: UInt?) : SyncProgress {
    var calls = 0
    override fun onRoundTrip(event: SyncProgressEvent) {
        calls++
        val remaining = event.remainingRecords
        val bar = if (remaining == null) "?" else "${event.pulledTotal}/${event.pulledTotal + remaining}"
        println("  round trip ${event.roundTrip}: pushed ${event.pushed}, pulled $bar, " +
            "waiting ${event.pendingRecords} record(s)")
        if (cancelAfter != null && event.roundTrip >= cancelAfter) cancel.cancel()
    }
}

/** What the app shows for each error; every branch is one `ApiException` subclass. */
fun explain(e: ApiException): String = when (e) {
    is ApiException.WrongKey -> "wrong PIN: ask again"
    is ApiException.CorruptStore -> "this phone's store cannot be opened (${e.reason}): contact the office"
    is ApiException.InvalidKey -> "internal: unusable key (${e.reason})"
    is ApiException.Validation -> "fix: " + e.issues.joinToString { "${it.field} (${it.code})" }
    is ApiException.Forbidden -> "the office must do this: ${e.reason}"
    is ApiException.StatusNotAllowed -> "a ${e.role} may not move this ${e.kind} from '${e.from}' to '${e.to}'"
    is ApiException.NotFound -> "the record is not on this phone"
    is ApiException.InvalidArgument -> "internal: ${e.reason}"
    is ApiException.Wiped -> "this phone was deregistered: contact the office, then set it up again"
    is ApiException.NotLoggedIn -> "log in first"
    is ApiException.SignedOut -> "signed out: log in or enter the PIN"
    is ApiException.AuthFailed -> "wrong username or password"
    is ApiException.AccountLocked -> "too many attempts: wait and try again"
    is ApiException.LoginRefused -> when (e.code) {
        "device_revoked" -> "this phone was deregistered: resetDevice() and log in again"
        "account_disabled" -> "the account is disabled"
        else -> "login refused (${e.code})"
    }
    is ApiException.SessionExpired -> "session expired: log in again (nothing is lost)"
    is ApiException.Network -> "no connection (${e.reason}): try later, nothing is lost"
    is ApiException.Server -> "server error ${e.status}: try later"
    is ApiException.Protocol -> "update the app (${e.reason})"
    is ApiException.Storage -> "storage problem (${e.reason})"
    is ApiException.OfflineTooLong -> "no successful sync for over ${e.limitDays} days: log in online to read records again (edits still save)"
    is ApiException.PinWait -> "too many wrong PINs: try again in ${e.retrySecs} s"
}

fun main(args: Array<String>) {
    if (args.size != 4) {
        System.err.println("usage: FieldApp <server-url> <username> <password> <work-dir>")
        exitProcess(2)
    }
    val (url, user, password, dir) = args
    val work = File(dir).apply { mkdirs() }
    val salt = newSalt()
    val path = File(work, "field-app.db").path

    FerryStore.openWithPin(path, "482913", salt).use { store ->
        // 1. Login.
        val session = store.login(url, user, password, "Kotlin example")
        println("logged in as ${session.displayName} [${session.username}] (${session.role}), units ${session.units}")

        // 2. Offline work: saved locally, sent at the next sync.
        val saved = store.create(RecordKind.CITIZEN, session.units.first(), mapOf(
            "full_name" to text("Nguyễn Thị Ví Dụ"),
            "id_number" to text("022190004444"),
            "date_of_birth" to text("1990-04-04"),
            "sex" to text("female"),
            "status" to text("active"),
        ))
        saved.findings.forEach { println("warning on ${it.field}: ${it.code}") }
        for (i in 1..5) store.update(saved.record.id, listOf(Edit.Set("notes", text("ghi chú $i"))))
        val outbox = store.outboxStatus()
        println("waiting: ${outbox.pendingRecords} record(s), ${outbox.pendingChanges} change(s)")
        check(outbox.pendingRecords == 1UL && outbox.pendingChanges == 6UL)

        // 3. Sync, cancelled after the first round trip, then to the end.
        store.setSyncSettings(store.syncSettings().copy(maxPushBytes = 1UL))
        val cancel = CancelToken()
        val first = store.sync(PrintingProgress(cancel, 1u), cancel)
        println("cancelled=${first.cancelled} after ${first.roundTrips} round trip(s)")
        store.setSyncSettings(store.syncSettings().copy(maxPushBytes = 256UL * 1024UL))
        val report = store.sync(PrintingProgress(CancelToken(), null), CancelToken())
        println("synced: ${report.acknowledged} acknowledged, ${report.pendingRecords} waiting")
        check(store.outboxStatus().pendingChanges == 0UL)

        // 4. Conflicts with names, and the history of a record.
        for (c in store.conflicts(saved.record.id)) {
            println("conflict on ${c.field}:")
            for (v in c.values) {
                val who = v.author?.let { "${it.displayName} (${it.deviceName})" } ?: v.actor
                println("  ${if (v.own) "you" else who} wrote ${(v.value as? FieldValue.Text)?.value}")
            }
        }
        val history = store.history(saved.record.id)
        check(history.all { it.own })
        println("history: ${history.size} change(s), all by ${history.first().author?.displayName}")

        // 5. Paged search with a total.
        val page = store.search("nguyen thi", RecordKind.CITIZEN, 0u, 20u)
        println("search: ${page.records.size} of ${page.total}")

        // 6. Errors the app handles.
        try {
            store.update(saved.record.id, listOf(Edit.Set("date_of_birth", text("04/04/1990"))))
        } catch (e: ApiException) {
            println("update refused: ${explain(e)}")
        }
        // Signing out ends the token on the server; records lock unless the PIN was entered.
        println("signed out on the server: ${store.logout()}")
    }
    try {
        FerryStore.open(path, deriveKeyFromPin("000000", salt))
    } catch (e: ApiException) {
        println("open with a wrong PIN: ${explain(e)}")
    }
    try {
        FerryStore.open(path, deriveKeyFromPin("482913", salt)).use { it.get("not-a-uuid") }
    } catch (e: ApiException) {
        println("get while signed out: ${explain(e)}")
    }
    try {
        FerryStore.open(File(work, "other.db").path, ByteArray(32) { 3 }).use {
            it.login(url, user, "not the password")
        }
    } catch (e: ApiException) {
        println("login: ${explain(e)}")
    }
    println("FIELD APP OK")
}
