# udp-echo: UDP echo server on 0.0.0.0:7, x86-64 Linux, no libc.
        .globl _start
        .text
_start:
        mov  $41, %eax          # socket(AF_INET, SOCK_DGRAM, 0)
        mov  $2, %edi
        mov  $2, %esi
        xor  %edx, %edx
        syscall
        mov  %eax, %r12d
        mov  %r12d, %edi        # bind(fd, &sa, 16)
        lea  sa(%rip), %rsi
        mov  $16, %edx
        mov  $49, %eax
        syscall
        test %eax, %eax
        jnz  die
loop:
        movl $16, alen(%rip)
        mov  %r12d, %edi        # n = recvfrom(fd, buf, 65536, 0, &peer, &alen)
        lea  buf(%rip), %rsi
        mov  $65536, %edx
        xor  %r10d, %r10d
        lea  peer(%rip), %r8
        lea  alen(%rip), %r9
        mov  $45, %eax
        syscall
        test %rax, %rax
        js   loop
        mov  %rax, %rdx         # sendto(fd, buf, n, 0, &peer, alen)
        mov  %r12d, %edi
        lea  buf(%rip), %rsi
        xor  %r10d, %r10d
        lea  peer(%rip), %r8
        mov  alen(%rip), %r9d
        mov  $44, %eax
        syscall
        jmp  loop
die:
        mov  $1, %edi
        mov  $60, %eax
        syscall
        .data
sa:     .short 2
        .byte 0, 7              # port 7, network order
        .long 0
        .quad 0
        .bss
alen:   .long 0
peer:   .space 16
buf:    .space 65536
