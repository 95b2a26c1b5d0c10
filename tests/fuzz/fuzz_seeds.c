/* Writes the seed corpus for fuzz_coders: each sample of tests/unit/coder_samples.h behind
 * its selector byte, in both contexts. Usage: fuzz_seeds DIR */
#include <stdio.h>
#include <sys/stat.h>

#include "coder_samples.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  mkdir(argv[1], 0755);
  size_t n;
  const coder_sample *s = coder_samples(&n);
  for (size_t i = 0; i < n; i++) {
    for (int outer = 0; outer < 2; outer++) {
      char path[4096];
      snprintf(path, sizeof path, "%s/seed_%02zu_%s", argv[1], i, outer ? "outer" : "nested");
      FILE *f = fopen(path, "wb");
      if (!f) {
        perror(path);
        return 1;
      }
      unsigned char sel = (unsigned char)(i | (outer ? 0x80u : 0u));
      fwrite(&sel, 1, 1, f);
      fwrite(s[i].bytes, 1, s[i].len, f);
      fclose(f);
    }
  }
  return 0;
}
