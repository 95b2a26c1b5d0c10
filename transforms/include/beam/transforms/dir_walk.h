/* Walking input directories: the directories above an entry, so that a walk that follows
 * symlinks can tell a loop (a link to a parent directory) from a directory it has not seen. */
#ifndef BEAM_TRANSFORMS_DIR_WALK_H
#define BEAM_TRANSFORMS_DIR_WALK_H

#include <stdbool.h>
#include <sys/stat.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One directory being walked and the one it was entered from (NULL at the walk's root). */
typedef struct beam_dir_chain {
  dev_t dev;
  ino_t ino;
  const struct beam_dir_chain *up;
} beam_dir_chain;

/* True when the directory sb describes is one of chain's: entering it would walk in a loop. */
bool beam_dir_chain_has(const beam_dir_chain *chain, const struct stat *sb);

#ifdef __cplusplus
}
#endif

#endif
