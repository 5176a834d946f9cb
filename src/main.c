#include <stdio.h>
int main(void) { puts("arcad"); return 0; }
