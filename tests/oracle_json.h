/* A small JSON reader for the oracle files (the .json files under tests/oracle/): the whole
 * grammar of RFC 8259 except \u escapes beyond ASCII, into a tree.  Numbers
 * keep their text, so that a float32 case can read them with strtof (one
 * correct rounding) and a float64 case with strtod. */
#ifndef OPTK_ORACLE_JSON_H
#define OPTK_ORACLE_JSON_H

#include <stddef.h>

typedef enum { OJ_NULL, OJ_BOOL, OJ_NUM, OJ_STR, OJ_ARR, OJ_OBJ } oj_type;

typedef struct oj_value {
  oj_type type;
  int boolean;
  const char *num;          /* OJ_NUM: its text, inside the parsed buffer */
  char *str;                /* OJ_STR: unescaped, NUL-terminated */
  size_t n;                 /* OJ_ARR, OJ_OBJ: number of items */
  struct oj_value *items;   /* OJ_ARR, OJ_OBJ */
  char **keys;              /* OJ_OBJ: n keys */
} oj_value;

/* Parses text (NUL-terminated; numbers point into it, so it must outlive
 * the tree).  Returns 0, or -1 with a "line:column: message" in err. */
int oj_parse(const char *text, oj_value *out, char *err, size_t errlen);
void oj_free(oj_value *v);

/* The member named key of an object, or NULL. */
const oj_value *oj_get(const oj_value *obj, const char *key);

#endif
