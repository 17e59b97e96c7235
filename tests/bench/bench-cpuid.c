/* bench-cpuid [N] - the cost of one CPUID instruction (x86): in a VM that
 * traps it, tens of them make most of every process's start (bench-nolibc).
 * Prints "cpuid: X us each". */
#include <cpuid.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    unsigned a, b, c, d, sum = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++) {
        /* leaf 4 (cache parameters), as glibc's start asks it */
        __cpuid_count(4, i & 3, a, b, c, d);
        sum += a ^ b ^ c ^ d;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 1e3;
    printf("cpuid: %.2f us each (%u)\n", us / n, sum & 1);
    return 0;
}
