/* One mutex per SQLite database file per process, shared by every SQLite sink instance of
 * the process that writes that file. The write lock of a database is SQLite's to give, and
 * its busy handler polls (sleeping in growing steps) and gives up after a timeout: threads of
 * one process that queue here for their commits instead wait on a mutex, woken as soon as the
 * previous committer is done, and never see SQLITE_BUSY from one another. Writers in other
 * processes still meet through SQLite's lock and the busy timeout. Internal to the sinks
 * layer (sink_sqlite.c). */
#ifndef BEAM_SINKS_SQLITE_DB_LOCK_H
#define BEAM_SINKS_SQLITE_DB_LOCK_H

#include <stdbool.h>

typedef struct sq_db_lock sq_db_lock;

/* The lock of the database file at path (which must exist), shared with the other holders
 * of the same file (same device and inode, whatever the path's spelling); NULL when path
 * cannot be stat'ed (":memory:") or memory runs out: then the caller writes unserialised,
 * relying on SQLite's own lock. Release with beam_sqlite_db_lock_put. */
sq_db_lock *beam_sqlite_db_lock_get(const char *path);
void beam_sqlite_db_lock_put(sq_db_lock *l);

/* Take and release the mutex (NULL: nothing to do). Not recursive. enter waits at most
 * timeout_ms and returns false when it could not take it: a thread holding it through one
 * sink (a bundle that went direct) and asking through another fails like SQLITE_BUSY
 * instead of waiting for itself forever. */
bool beam_sqlite_db_lock_enter(sq_db_lock *l, int timeout_ms);
void beam_sqlite_db_lock_leave(sq_db_lock *l);

#endif
