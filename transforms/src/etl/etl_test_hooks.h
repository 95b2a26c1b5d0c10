/* Hooks for tests that need an outside event at a precise instant of a run. Each is read from
 * an environment variable that only tests set; unset, a hook costs one getenv per process.
 * Internal to the etl layer. */
#ifndef BEAM_ETL_TEST_HOOKS_H
#define BEAM_ETL_TEST_HOOKS_H

/* After a byte range of path was read (etl_dofn_read.c): when BEAM_ETL_TEST_GROW_AFTER_RANGE
 * is set to a name path ends with, appends a copy of the file's first line to it, once per
 * process - a file that grows while it is read, between the reads of its ranges, made
 * deterministic (tests/cli/split_failed.sh, mode "grow"). Best effort: errors are ignored. */
void beam_etl_test_grow_after_range(const char *path);

/* After a writer committed a bundle holding a byte range's ledger entry (etl_dofn_write.c):
 * when BEAM_ETL_TEST_EXIT_AFTER_RANGES is N > 0, the process's N-th such commit ends the
 * process at once (_exit(137), as a kill -9 would) - a run stopped in the middle of a split
 * file, at a known point (tests/cli/unfinished_changed.sh). */
void beam_etl_test_exit_after_range_commit(void);

#endif
