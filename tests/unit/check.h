/*
 * check.h: assertion macros for the unit tests. A failed check prints
 * the file, line, expression and both values, and the test keeps going so
 * one run shows every failure; CHECK_DONE() turns the count into the exit
 * status.
 */
#ifndef IDX_TEST_CHECK_H
#define IDX_TEST_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(expr)                                                                                \
  do {                                                                                             \
    check_count++;                                                                                 \
    if (!(expr)) {                                                                                 \
      check_failures++;                                                                            \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #expr);                     \
    }                                                                                              \
  } while (0)

#define CHECK_INT(a, b)                                                                            \
  do {                                                                                             \
    long long check_a_ = (long long)(a), check_b_ = (long long)(b);                                \
    check_count++;                                                                                 \
    if (check_a_ != check_b_) {                                                                    \
      check_failures++;                                                                            \
      fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b,        \
              check_a_, check_b_);                                                                 \
    }                                                                                              \
  } while (0)

#define CHECK_STR(a, b)                                                                            \
  do {                                                                                             \
    const char *check_a_ = (a), *check_b_ = (b);                                                   \
    check_count++;                                                                                 \
    if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {                               \
      check_failures++;                                                                            \
      fprintf(stderr, "%s:%d: %s == %s failed:\n  got      \"%s\"\n  expected \"%s\"\n", __FILE__, \
              __LINE__, #a, #b, check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)");   \
    }                                                                                              \
  } while (0)

/* Ends main(): prints a summary line and returns the exit status. */
#define CHECK_DONE()                                                                               \
  do {                                                                                             \
    fprintf(stderr, "%s: %d checks, %d failed\n", __FILE__, check_count, check_failures);          \
    return check_failures ? 1 : 0;                                                                 \
  } while (0)

#endif
