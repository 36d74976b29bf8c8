// Reads lines from standard input (the process's console input) and echoes them upper-cased,
// until end of input. Build: clang --target=wasm32-wasi -O2 -o upper.wasm upper.c
#include <ctype.h>
#include <stdio.h>

int main(void) {
    char line[256];
    int lines = 0;
    while (fgets(line, sizeof line, stdin) != NULL) {
        for (char *c = line; *c; c++) {
            *c = (char)toupper((unsigned char)*c);
        }
        fputs(line, stdout);
        fflush(stdout);
        lines++;
    }
    printf("upper: %d line(s), end of input\n", lines);
    return 0;
}
