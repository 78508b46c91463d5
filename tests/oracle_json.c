/* The JSON reader of oracle_json.h: recursive descent over a NUL-terminated
 * buffer, with line and column in every error. */
#include "oracle_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32

typedef struct {
  const char *s, *p;
  char *err;
  size_t errlen;
  int failed;
} parser;

static int fail(parser *ps, const char *fmt, ...)
{
  if (ps->failed)
    return -1;
  int line = 1, col = 1;
  for (const char *q = ps->s; q < ps->p; q++) {
    if (*q == '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  int k = snprintf(ps->err, ps->errlen, "%d:%d: ", line, col);
  if (k > 0 && (size_t)k < ps->errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->err + k, ps->errlen - (size_t)k, fmt, ap);
    va_end(ap);
  }
  ps->failed = 1;
  return -1;
}

static void skip_ws(parser *ps)
{
  while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
    ps->p++;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int parse_value(parser *ps, oj_value *v, int depth);

static int parse_string(parser *ps, char **out)
{
  ps->p++; /* the opening quote */
  size_t cap = 16, len = 0;
  char *buf = malloc(cap);
  if (!buf)
    return fail(ps, "out of memory");
  for (;;) {
    char c = *ps->p;
    if (c == '"')
      break;
    if (c == '\0' || (unsigned char)c < 0x20) {
      free(buf);
      return fail(ps, c ? "control character in a string" : "unterminated string");
    }
    if (c == '\\') {
      ps->p++;
      switch (*ps->p) {
      case '"': c = '"'; break;
      case '\\': c = '\\'; break;
      case '/': c = '/'; break;
      case 'b': c = '\b'; break;
      case 'f': c = '\f'; break;
      case 'n': c = '\n'; break;
      case 'r': c = '\r'; break;
      case 't': c = '\t'; break;
      case 'u': {
        unsigned u = 0;
        for (int i = 1; i <= 4; i++) {
          char h = ps->p[i];
          unsigned d = is_digit(h) ? (unsigned)(h - '0')
                       : (h >= 'a' && h <= 'f') ? (unsigned)(h - 'a' + 10)
                       : (h >= 'A' && h <= 'F') ? (unsigned)(h - 'A' + 10) : 16u;
          if (d == 16) {
            free(buf);
            return fail(ps, "bad \\u escape");
          }
          u = u * 16 + d;
        }
        if (u == 0 || u > 0x7f) {
          free(buf);
          return fail(ps, "\\u escape beyond ASCII (not used by the oracle files)");
        }
        c = (char)u;
        ps->p += 4;
        break;
      }
      default:
        free(buf);
        return fail(ps, "bad escape");
      }
    }
    if (len + 1 >= cap) {
      char *nb = realloc(buf, cap *= 2);
      if (!nb) {
        free(buf);
        return fail(ps, "out of memory");
      }
      buf = nb;
    }
    buf[len++] = c;
    ps->p++;
  }
  ps->p++; /* the closing quote */
  buf[len] = '\0';
  *out = buf;
  return 0;
}

/* RFC 8259's number grammar, checked here so that strtod and strtof later
 * read exactly this text (they would also take hex, inf and nan). */
static int parse_number(parser *ps, oj_value *v)
{
  const char *q = ps->p;
  if (*q == '-')
    q++;
  if (*q == '0')
    q++;
  else if (is_digit(*q))
    while (is_digit(*q))
      q++;
  else
    return fail(ps, "bad number");
  if (*q == '.') {
    q++;
    if (!is_digit(*q))
      return fail(ps, "bad number: no digit after '.'");
    while (is_digit(*q))
      q++;
  }
  if (*q == 'e' || *q == 'E') {
    q++;
    if (*q == '+' || *q == '-')
      q++;
    if (!is_digit(*q))
      return fail(ps, "bad number: no digit in the exponent");
    while (is_digit(*q))
      q++;
  }
  v->type = OJ_NUM;
  v->num = ps->p;
  ps->p = q;
  return 0;
}

static int push(parser *ps, oj_value *v, size_t *cap)
{
  if (v->n < *cap)
    return 0;
  size_t nc = *cap ? *cap * 2 : 8;
  oj_value *ni = realloc(v->items, nc * sizeof *ni);
  if (!ni)
    return fail(ps, "out of memory");
  v->items = ni;
  if (v->type == OJ_OBJ) {
    char **nk = realloc(v->keys, nc * sizeof *nk);
    if (!nk)
      return fail(ps, "out of memory");
    v->keys = nk;
  }
  *cap = nc;
  return 0;
}

static int parse_container(parser *ps, oj_value *v, int depth)
{
  const int obj = *ps->p == '{';
  const char close = obj ? '}' : ']';
  size_t cap = 0;
  v->type = obj ? OJ_OBJ : OJ_ARR;
  ps->p++;
  skip_ws(ps);
  if (*ps->p == close) {
    ps->p++;
    return 0;
  }
  for (;;) {
    if (push(ps, v, &cap))
      return -1;
    skip_ws(ps);
    if (obj) {
      if (*ps->p != '"')
        return fail(ps, "expected a key");
      if (parse_string(ps, &v->keys[v->n]))
        return -1;
      skip_ws(ps);
      if (*ps->p != ':') {
        free(v->keys[v->n]);
        return fail(ps, "expected ':'");
      }
      ps->p++;
    }
    memset(&v->items[v->n], 0, sizeof v->items[v->n]);
    v->n++;
    if (parse_value(ps, &v->items[v->n - 1], depth + 1))
      return -1;
    skip_ws(ps);
    if (*ps->p == ',') {
      ps->p++;
      continue;
    }
    if (*ps->p == close) {
      ps->p++;
      return 0;
    }
    return fail(ps, obj ? "expected ',' or '}'" : "expected ',' or ']'");
  }
}

static int parse_value(parser *ps, oj_value *v, int depth)
{
  if (depth > MAX_DEPTH)
    return fail(ps, "nested too deep");
  skip_ws(ps);
  const char c = *ps->p;
  if (c == '{' || c == '[')
    return parse_container(ps, v, depth);
  if (c == '"') {
    v->type = OJ_STR;
    return parse_string(ps, &v->str);
  }
  if (c == '-' || is_digit(c))
    return parse_number(ps, v);
  static const struct { const char *word; oj_type type; int b; } words[] = {
    { "true", OJ_BOOL, 1 }, { "false", OJ_BOOL, 0 }, { "null", OJ_NULL, 0 } };
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
    const size_t len = strlen(words[i].word);
    if (strncmp(ps->p, words[i].word, len) == 0) {
      v->type = words[i].type;
      v->boolean = words[i].b;
      ps->p += len;
      return 0;
    }
  }
  return fail(ps, c ? "unexpected character '%c'" : "unexpected end of input", c);
}

int oj_parse(const char *text, oj_value *out, char *err, size_t errlen)
{
  parser ps = { text, text, err, errlen, 0 };
  memset(out, 0, sizeof *out);
  if (parse_value(&ps, out, 0) == 0) {
    skip_ws(&ps);
    if (*ps.p == '\0')
      return 0;
    fail(&ps, "text after the value");
  }
  oj_free(out);
  return -1;
}

void oj_free(oj_value *v)
{
  if (v->type == OJ_STR)
    free(v->str);
  if (v->type == OJ_ARR || v->type == OJ_OBJ) {
    for (size_t i = 0; i < v->n; i++) {
      oj_free(&v->items[i]);
      if (v->type == OJ_OBJ)
        free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
  }
  memset(v, 0, sizeof *v);
}

const oj_value *oj_get(const oj_value *obj, const char *key)
{
  if (!obj || obj->type != OJ_OBJ)
    return NULL;
  for (size_t i = 0; i < obj->n; i++)
    if (strcmp(obj->keys[i], key) == 0)
      return &obj->items[i];
  return NULL;
}
