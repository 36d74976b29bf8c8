// Calls a WASI function Orbital does not offer (fd_filestat_get, through fstat): the call fails
// with ENOSYS, the kernel logs a denied request naming the function, and the program goes on.
// Build: clang --target=wasm32-wasi -O2 -o unsupported.wasm unsupported.c
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int main(void) {
    struct stat st;
    int result = fstat(1, &st);
    printf("fstat: %d, errno %d (%s)\n", result, errno, strerror(errno));
    printf("unsupported: still running\n");
    return result == -1 && errno == ENOSYS ? 0 : 1;
}
