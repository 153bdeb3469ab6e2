// Per-thread setup: every instance (main thread and each worker) gets its own
// C stack inside the shared memory.
#include "common.h"

EXPORT(set_stack_pointer) void set_stack_pointer(void* sp) {
  __asm__ volatile(".globaltype __stack_pointer, i32\n local.get %0\n global.set __stack_pointer" ::"r"(sp));
}
