// Sleeps and reads the clock: shows that time in a process is the kernel's time.
// Build: clang --target=wasm32-wasi -O2 -o sleepy.wasm sleepy.c
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(void) {
    long long before = now_ms();
    usleep(50 * 1000);
    long long after = now_ms();
    printf("sleepy: slept %lld ms\n", after - before);
    return after - before >= 50 ? 0 : 1;
}
