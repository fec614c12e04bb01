/* The canonical state encoding of fingerprint.py, and a compact set of 64-bit fingerprints, in C.
 *
 * encode(x) returns exactly the bytes of fingerprint.py's pure-Python encode(x)
 * (tests/test_fingerprint.py compares the two on generated values). Values
 * this file does not encode itself (dataclasses, enums that are not ints or
 * strings, ints beyond 64 bits) are handed to the Python encoder registered
 * with set_fallback().
 *
 * FPSet is a set of unsigned 64-bit integers in one array (open addressing,
 * linear probing): about 11 to 21 bytes per member, against some 60 for a
 * Python set of ints.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* -- a growable byte buffer ------------------------------------------------------ */
typedef struct {
    char *data;
    Py_ssize_t len, cap;
} Buf;

static int buf_reserve(Buf *b, Py_ssize_t extra) {
    if (b->len + extra <= b->cap) return 0;
    Py_ssize_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra) cap *= 2;
    char *data = PyMem_Realloc(b->data, cap);
    if (!data) { PyErr_NoMemory(); return -1; }
    b->data = data;
    b->cap = cap;
    return 0;
}

static int buf_put(Buf *b, const void *p, Py_ssize_t n) {
    if (buf_reserve(b, n) < 0) return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/* A type tag and a length or count: the tag byte, then the count as 4 bytes little-endian. */
static int put_head(Buf *b, char tag, Py_ssize_t n) {
    if (n > 0xFFFFFFFFLL) { PyErr_SetString(PyExc_OverflowError, "value too large to fingerprint"); return -1; }
    if (buf_reserve(b, 5) < 0) return -1;
    unsigned char *p = (unsigned char *)b->data + b->len;
    uint32_t u = (uint32_t)n;
    p[0] = (unsigned char)tag;
    p[1] = u & 0xFF; p[2] = (u >> 8) & 0xFF; p[3] = (u >> 16) & 0xFF; p[4] = (u >> 24) & 0xFF;
    b->len += 5;
    return 0;
}

static PyObject *fallback = NULL;  /* the Python encoder, for what C leaves to it */
static int mutable_seen;  /* set when the value being encoded holds a mutable part */

static int put_fallback(Buf *b, PyObject *x) {
    mutable_seen = 1;  /* whatever the Python encoder reads is not known to be immutable */
    if (!fallback) { PyErr_SetString(PyExc_RuntimeError, "no fallback encoder registered"); return -1; }
    PyObject *r = PyObject_CallOneArg(fallback, x);
    if (!r) return -1;
    if (!PyBytes_Check(r)) { Py_DECREF(r); PyErr_SetString(PyExc_TypeError, "fallback encoder must return bytes"); return -1; }
    int rc = buf_put(b, PyBytes_AS_STRING(r), PyBytes_GET_SIZE(r));
    Py_DECREF(r);
    return rc;
}

/* An integer: 'i', the byte count ((bit_length + 8) >> 3), the two's complement bytes, little-endian. */
static int put_int64(Buf *b, long long v) {
    unsigned long long mag = v < 0 ? (unsigned long long)(-(v + 1)) + 1 : (unsigned long long)v;
    int bits = mag ? 64 - __builtin_clzll(mag) : 0;
    int n = (bits + 8) >> 3;
    if (put_head(b, 'i', n) < 0 || buf_reserve(b, n) < 0) return -1;
    unsigned char *p = (unsigned char *)b->data + b->len;
    for (int i = 0; i < n; i++) p[i] = i < 8 ? (unsigned char)(((unsigned long long)v >> (8 * i)) & 0xFF) : (v < 0 ? 0xFF : 0);
    b->len += n;
    return 0;
}

/* -- sorting the encodings of a set's elements ------------------------------------ */
typedef struct {
    const unsigned char *p;
    Py_ssize_t n;
} Piece;

static int piece_cmp(const void *a, const void *b) {  /* the order of Python's bytes */
    const Piece *x = a, *y = b;
    Py_ssize_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->p, y->p, n);
    if (c) return c;
    return (x->n > y->n) - (x->n < y->n);
}

/* Sort in place the `count` encodings written at b->data[start:], whose start offsets are in `offs`. */
static int sort_pieces(Buf *b, Py_ssize_t start, Py_ssize_t *offs, Py_ssize_t count) {
    if (count < 2) return 0;
    Py_ssize_t total = b->len - start;
    unsigned char *copy = PyMem_Malloc(total);
    Piece *pieces = PyMem_Malloc(sizeof(Piece) * count);
    if (!copy || !pieces) { PyMem_Free(copy); PyMem_Free(pieces); PyErr_NoMemory(); return -1; }
    memcpy(copy, b->data + start, total);
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_ssize_t end = i + 1 < count ? offs[i + 1] : b->len;
        pieces[i].p = copy + (offs[i] - start);
        pieces[i].n = end - offs[i];
    }
    qsort(pieces, count, sizeof(Piece), piece_cmp);
    char *out = b->data + start;
    for (Py_ssize_t i = 0; i < count; i++) {
        memcpy(out, pieces[i].p, pieces[i].n);
        out += pieces[i].n;
    }
    PyMem_Free(copy);
    PyMem_Free(pieces);
    return 0;
}

/* -- remembered encodings of immutable parts ----------------------------------------
 * A successor state shares most of its parts (tuples, frozensets) with the state it was
 * computed from, as the same objects. So the encodings of recent parts are kept in a
 * direct-mapped table keyed by the object's identity. The table holds a reference to each
 * object it keeps, so no other object can take its address while it is there; and only
 * parts built wholly of immutable values (no list, set, dict, bytearray or value left to
 * the Python encoder) are kept, so a kept encoding stays right.
 */
#define CACHE_BITS 16
typedef struct {
    PyObject *obj;  /* a strong reference, or NULL */
    PyObject *enc;  /* its encoding, bytes */
} Slot;
static Slot cache[1 << CACHE_BITS];

static inline Slot *slot_for(PyObject *x) {
    uint64_t h = ((uint64_t)(uintptr_t)x >> 4) * 0x9E3779B97F4A7C15ULL;
    return &cache[h >> (64 - CACHE_BITS)];
}

static void cache_put(Slot *slot, PyObject *x, const char *data, Py_ssize_t n) {
    PyObject *e = PyBytes_FromStringAndSize(data, n);
    if (!e) { PyErr_Clear(); return; }  /* not remembered: no harm */
    PyObject *old_obj = slot->obj, *old_enc = slot->enc;
    slot->obj = Py_NewRef(x);
    slot->enc = e;
    Py_XDECREF(old_obj);  /* after the slot is consistent: a destructor may run here */
    Py_XDECREF(old_enc);
}

/* -- the encoder ------------------------------------------------------------------- */
static int enc(Buf *b, PyObject *x);

static int enc_items(Buf *b, char tag, PyObject *seq) {  /* tuples and lists: the elements in order */
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    if (put_head(b, tag, n) < 0) return -1;
    for (Py_ssize_t i = 0; i < n; i++)
        if (enc(b, items[i]) < 0) return -1;
    return 0;
}

static int enc_set(Buf *b, PyObject *x) {  /* sets: the elements' encodings, sorted */
    Py_ssize_t n = PySet_GET_SIZE(x), i = 0, pos = 0;
    Py_hash_t hash;
    PyObject *key;
    if (put_head(b, '{', n) < 0) return -1;
    Py_ssize_t start = b->len;
    Py_ssize_t *offs = PyMem_Malloc(sizeof(Py_ssize_t) * (n ? n : 1));
    if (!offs) { PyErr_NoMemory(); return -1; }
    while (_PySet_NextEntry(x, &pos, &key, &hash)) {
        if (i >= n) { PyMem_Free(offs); PyErr_SetString(PyExc_RuntimeError, "set changed size while fingerprinting"); return -1; }
        offs[i++] = b->len;
        if (enc(b, key) < 0) { PyMem_Free(offs); return -1; }
    }
    int rc = sort_pieces(b, start, offs, i);
    PyMem_Free(offs);
    return rc;
}

static int enc_dict(Buf *b, PyObject *x) {  /* dicts: key and value encodings, the pairs sorted */
    Py_ssize_t n = PyDict_GET_SIZE(x), i = 0, pos = 0;
    PyObject *key, *value;
    if (put_head(b, 'd', n) < 0) return -1;
    Py_ssize_t start = b->len;
    Py_ssize_t *offs = PyMem_Malloc(sizeof(Py_ssize_t) * (n ? n : 1));
    if (!offs) { PyErr_NoMemory(); return -1; }
    while (PyDict_Next(x, &pos, &key, &value)) {
        if (i >= n) { PyMem_Free(offs); PyErr_SetString(PyExc_RuntimeError, "dict changed size while fingerprinting"); return -1; }
        offs[i++] = b->len;
        if (enc(b, key) < 0 || enc(b, value) < 0) { PyMem_Free(offs); return -1; }
    }
    int rc = sort_pieces(b, start, offs, i);
    PyMem_Free(offs);
    return rc;
}

static int enc_str(Buf *b, PyObject *x) {
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(x, &n);
    if (s) return put_head(b, 's', n) < 0 ? -1 : buf_put(b, s, n);
    PyErr_Clear();  /* lone surrogates: encoded as Python's "surrogatepass" does */
    PyObject *data = PyUnicode_AsEncodedString(x, "utf-8", "surrogatepass");
    if (!data) return -1;
    int rc = put_head(b, 's', PyBytes_GET_SIZE(data)) < 0 ? -1 : buf_put(b, PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data));
    Py_DECREF(data);
    return rc;
}

/* Tuples (NamedTuples too: equal to the tuple of their fields) and frozensets, remembered. */
static int enc_kept(Buf *b, PyObject *x) {
    Slot *slot = slot_for(x);
    if (slot->obj == x) return buf_put(b, PyBytes_AS_STRING(slot->enc), PyBytes_GET_SIZE(slot->enc));
    int outer = mutable_seen;
    mutable_seen = 0;
    Py_ssize_t start = b->len;
    int rc = PyTuple_Check(x) ? enc_items(b, '(', x) : enc_set(b, x);
    if (rc == 0 && !mutable_seen) cache_put(slot_for(x), x, b->data + start, b->len - start);
    mutable_seen |= outer;
    return rc;
}

static int enc_inner(Buf *b, PyObject *x) {
    if (x == Py_None) return buf_put(b, "N", 1);
    if (PyLong_Check(x)) {  /* int, bool (True is 1) and int subclasses such as IntEnum */
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(x, &overflow);
        if (v == -1 && PyErr_Occurred()) return -1;
        return overflow ? put_fallback(b, x) : put_int64(b, v);
    }
    if (PyFloat_Check(x)) {
        double d = PyFloat_AS_DOUBLE(x);
        if (isfinite(d) && d == floor(d)) {  /* 2.0 == 2 */
            if (fabs(d) < 9.0e18) return put_int64(b, (long long)d);
            return put_fallback(b, x);
        }
        if (buf_reserve(b, 9) < 0) return -1;
        b->data[b->len] = 'f';
        if (PyFloat_Pack8(d, b->data + b->len + 1, 1) < 0) return -1;
        b->len += 9;
        return 0;
    }
    if (PyUnicode_Check(x)) return enc_str(b, x);
    if (PyBytes_Check(x))
        return put_head(b, 'b', PyBytes_GET_SIZE(x)) < 0 ? -1 : buf_put(b, PyBytes_AS_STRING(x), PyBytes_GET_SIZE(x));
    if (PyTuple_Check(x) || PyFrozenSet_Check(x)) return enc_kept(b, x);
    mutable_seen = 1;
    if (PyList_Check(x)) return enc_items(b, '[', x);
    if (PyAnySet_Check(x)) return enc_set(b, x);
    if (PyDict_Check(x)) return enc_dict(b, x);
    return put_fallback(b, x);  /* bytearray, dataclasses, other enums: the Python encoder's */
}

static int enc(Buf *b, PyObject *x) {
    if (Py_EnterRecursiveCall(" while fingerprinting a state")) return -1;
    int rc = enc_inner(b, x);
    Py_LeaveRecursiveCall();
    return rc;
}

static Buf shared_buf = {NULL, 0, 0};  /* reused across calls (the GIL is held throughout) */

static PyObject *py_encode(PyObject *self, PyObject *x) {
    Buf *b = &shared_buf;
    if (b->len) {  /* a fallback re-entered encode: use a buffer of its own */
        Buf own = {NULL, 0, 0};
        PyObject *r = enc(&own, x) < 0 ? NULL : PyBytes_FromStringAndSize(own.data, own.len);
        PyMem_Free(own.data);
        return r;
    }
    /* The state itself is new each time: its parts are remembered, not it. */
    int rc = PyTuple_Check(x) ? enc_items(b, '(', x) : enc(b, x);
    PyObject *r = rc < 0 ? NULL : PyBytes_FromStringAndSize(b->data, b->len);
    b->len = 0;
    return r;
}

static PyObject *py_set_fallback(PyObject *self, PyObject *f) {
    if (!PyCallable_Check(f)) { PyErr_SetString(PyExc_TypeError, "the fallback encoder must be callable"); return NULL; }
    Py_XSETREF(fallback, Py_NewRef(f));
    Py_RETURN_NONE;
}

/* -- FPSet ------------------------------------------------------------------------- */
typedef struct {
    PyObject_HEAD
    uint64_t *slots;  /* 0 marks an empty slot; the fingerprint 0 is kept in has_zero */
    Py_ssize_t cap, used;
    int has_zero;
} FPSet;

static int fpset_grow(FPSet *s) {
    Py_ssize_t cap = s->cap * 2;
    uint64_t *slots = PyMem_Calloc(cap, sizeof(uint64_t));
    if (!slots) { PyErr_NoMemory(); return -1; }
    uint64_t mask = (uint64_t)cap - 1;
    for (Py_ssize_t i = 0; i < s->cap; i++) {
        uint64_t v = s->slots[i];
        if (!v) continue;
        uint64_t j = v & mask;
        while (slots[j]) j = (j + 1) & mask;
        slots[j] = v;
    }
    PyMem_Free(s->slots);
    s->slots = slots;
    s->cap = cap;
    return 0;
}

static int fpset_init(FPSet *s, PyObject *args, PyObject *kw) {
    static char *names[] = {"capacity", NULL};
    Py_ssize_t want = 1 << 16, cap = 16;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|n", names, &want)) return -1;
    while (cap < want) cap *= 2;
    PyMem_Free(s->slots);
    s->slots = PyMem_Calloc(cap, sizeof(uint64_t));
    if (!s->slots) { PyErr_NoMemory(); return -1; }
    s->cap = cap;
    s->used = 0;
    s->has_zero = 0;
    return 0;
}

static void fpset_dealloc(FPSet *s) {
    PyMem_Free(s->slots);
    Py_TYPE(s)->tp_free((PyObject *)s);
}

static int fp_arg(PyObject *x, uint64_t *out) {
    *out = PyLong_AsUnsignedLongLong(x);
    if (*out == (uint64_t)-1 && PyErr_Occurred()) return -1;
    return 0;
}

/* add(fp) -> True when fp was not a member (and is now) */
static PyObject *fpset_add(FPSet *s, PyObject *x) {
    uint64_t v;
    if (fp_arg(x, &v) < 0) return NULL;
    if (!v) {
        if (s->has_zero) Py_RETURN_FALSE;
        s->has_zero = 1;
        Py_RETURN_TRUE;
    }
    uint64_t mask = (uint64_t)s->cap - 1, j = v & mask;
    while (s->slots[j]) {
        if (s->slots[j] == v) Py_RETURN_FALSE;
        j = (j + 1) & mask;
    }
    s->slots[j] = v;
    s->used++;
    if (s->used * 4 >= s->cap * 3 && fpset_grow(s) < 0) return NULL;  /* at most three quarters full */
    Py_RETURN_TRUE;
}

static int fpset_contains(FPSet *s, PyObject *x) {
    uint64_t v;
    if (fp_arg(x, &v) < 0) return -1;
    if (!v) return s->has_zero;
    uint64_t mask = (uint64_t)s->cap - 1, j = v & mask;
    while (s->slots[j]) {
        if (s->slots[j] == v) return 1;
        j = (j + 1) & mask;
    }
    return 0;
}

static Py_ssize_t fpset_len(FPSet *s) { return s->used + s->has_zero; }

static PyObject *fpset_nbytes(FPSet *s, void *closure) {
    return PyLong_FromSsize_t(s->cap * (Py_ssize_t)sizeof(uint64_t));
}

static PyMethodDef fpset_methods[] = {
    {"add", (PyCFunction)fpset_add, METH_O, "add(fp) -> True if fp was not yet a member."},
    {NULL}
};

static PyGetSetDef fpset_getset[] = {
    {"nbytes", (getter)fpset_nbytes, NULL, "bytes held by the table", NULL},
    {NULL}
};

static PySequenceMethods fpset_as_sequence = {
    .sq_length = (lenfunc)fpset_len,
    .sq_contains = (objobjproc)fpset_contains,
};

static PyTypeObject FPSetType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "splitbrain.checker._fpcore.FPSet",
    .tp_doc = "FPSet(capacity=65536): a set of unsigned 64-bit fingerprints in one array.",
    .tp_basicsize = sizeof(FPSet),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)fpset_init,
    .tp_dealloc = (destructor)fpset_dealloc,
    .tp_methods = fpset_methods,
    .tp_getset = fpset_getset,
    .tp_as_sequence = &fpset_as_sequence,
};

/* -- the module -------------------------------------------------------------------- */
static PyMethodDef methods[] = {
    {"encode", py_encode, METH_O, "encode(x) -> bytes: the canonical encoding of fingerprint.py."},
    {"set_fallback", py_set_fallback, METH_O, "set_fallback(f): the Python encoder for what C leaves to it."},
    {NULL}
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fpcore", NULL, -1, methods};

PyMODINIT_FUNC PyInit__fpcore(void) {
    if (PyType_Ready(&FPSetType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    if (PyModule_AddObjectRef(m, "FPSet", (PyObject *)&FPSetType) < 0) { Py_DECREF(m); return NULL; }
    return m;
}
