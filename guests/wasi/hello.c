// A WASI hello world: prints its name and arguments (`spawn hello a b` at the terminal).
// Build: clang --target=wasm32-wasi -O2 -o hello.wasm hello.c
#include <stdio.h>

int main(int argc, char **argv) {
    printf("hello from %s with %d argument(s)\n", argv[0], argc - 1);
    for (int i = 1; i < argc; i++) {
        printf("  argv[%d] = %s\n", i, argv[i]);
    }
    return 0;
}
