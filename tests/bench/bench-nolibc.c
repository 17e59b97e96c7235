/* bench-nolibc - a program that exits at once without any C library
 * start-up: bench-spawn of it against /bin/true shows what a process's
 * libc start costs this machine (glibc's start asks the CPU about its
 * features and caches with CPUID, some 70 times, and in a VM that traps
 * CPUID each is a round trip to the hypervisor: bench-cpuid). */
__attribute__((noreturn)) void _start(void);

#if defined(__x86_64__)
__attribute__((noreturn)) void _start(void)
{
    __asm__ volatile("mov $60, %eax\n\txor %edi, %edi\n\tsyscall");
    __builtin_unreachable();
}
#elif defined(__aarch64__)
__attribute__((noreturn)) void _start(void)
{
    __asm__ volatile("mov x8, #93\n\tmov x0, #0\n\tsvc #0");
    __builtin_unreachable();
}
#else
#error "bench-nolibc: x86_64 and aarch64 only"
#endif
