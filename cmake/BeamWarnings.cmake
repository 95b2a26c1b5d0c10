# Warnings are errors for code written here; generated code gets none of this.
set(BEAM_WARNING_FLAGS
  -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
  -Wno-unused-parameter -Wvla -Wpointer-arith)

function(beam_target_warnings target)
  target_compile_options(${target} PRIVATE ${BEAM_WARNING_FLAGS})
endfunction()
