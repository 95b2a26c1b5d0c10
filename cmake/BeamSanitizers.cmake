# AddressSanitizer + UndefinedBehaviorSanitizer for every target when BEAM_SANITIZE is on.
# UBSan is made fatal so a report fails the test that triggered it.
if(BEAM_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined -fno-sanitize-recover=all)
endif()
# ThreadSanitizer (exclusive with BEAM_SANITIZE): for the threaded code, e.g. the local
# runner's worker pool and shuffles (ctest -R 'local_parallel|local_runner|testing_kit').
if(BEAM_TSAN)
  if(BEAM_SANITIZE)
    message(FATAL_ERROR "BEAM_TSAN and BEAM_SANITIZE cannot be combined")
  endif()
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()
if(BEAM_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "BEAM_FUZZ needs clang (configure with CC=clang)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
