/* Symlink loops in input directories (beam/transforms/dir_walk.h). */
#include "beam/transforms/dir_walk.h"

bool beam_dir_chain_has(const beam_dir_chain *chain, const struct stat *sb) {
  for (; chain; chain = chain->up)
    if (chain->dev == sb->st_dev && chain->ino == sb->st_ino) return true;
  return false;
}
