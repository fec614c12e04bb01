/* The state fingerprints of fingerprint.py, and a compact set of 64-bit fingerprints, in C.
 *
 * fingerprint(x) returns exactly fingerprint.py's py_fingerprint(x)
 * (tests/test_fpstore.py compares the two on generated values). Values this
 * file does not fingerprint itself (dataclasses, enums that are not ints or
 * strings, ints beyond 64 bits, strings with lone surrogates, bytearrays) are
 * handed to the Python function registered with set_fallback().
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

/* -- structural fingerprints ------------------------------------------------------
 * fingerprint(x): a 64-bit hash computed from the fingerprints of x's parts (fingerprint.py
 * defines it, in pure Python, and says why it is canonical for Python equality). Parts are
 * chained through murmur3's 64-bit finaliser; the elements of a set are combined by adding
 * their mixed fingerprints, so no sorting is needed.
 *
 * A successor state shares most of its parts (tuples, frozensets) with the state it was
 * computed from, as the same objects. So the fingerprints of recent parts are kept in a
 * direct-mapped table keyed by the object's identity. The table holds a reference to each
 * object it keeps, so no other object can take its address while it is there; and only
 * parts built wholly of immutable values (no list, set, dict, bytearray or value left to
 * Python) are kept, so a kept fingerprint stays right.
 */
#define CACHE_BITS 10  /* small enough to stay in the L1 cache: larger tables measured slower */
#define SEED 0x9E3779B97F4A7C15ULL
#define SET_KEY 0xC2B2AE3D27D4EB4FULL

static inline uint64_t fmix(uint64_t h) {
    h ^= h >> 33; h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 33; h *= 0xC4CEB9FE1A85EC53ULL;
    h ^= h >> 33;
    return h;
}
static inline uint64_t fp_start(char tag, uint64_t n) { return fmix(((uint64_t)(unsigned char)tag << 56) ^ n ^ SEED); }
static inline uint64_t fp_step(uint64_t h, uint64_t w) { return fmix(h ^ w); }

static uint64_t fp_bytes(char tag, const unsigned char *p, Py_ssize_t n) {  /* 8-byte little-endian words, zero-padded */
    uint64_t h = fp_start(tag, (uint64_t)n);
    Py_ssize_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);  /* x86-64 and aarch64 are little-endian */
        h = fp_step(h, w);
    }
    if (i < n) {
        uint64_t w = 0;
        for (Py_ssize_t j = 0; i + j < n; j++) w |= (uint64_t)p[i + j] << (8 * j);
        h = fp_step(h, w);
    }
    return h;
}

typedef struct {
    PyObject *obj;  /* a strong reference, or NULL */
    uint64_t fp;
} FpSlot;
static FpSlot fp_cache[1 << CACHE_BITS];
static PyObject *fp_fallback = NULL;  /* the Python fingerprint, for what C leaves to it */
static int fp_mutable;  /* set when the value being fingerprinted holds a mutable part */

static int fp_of(PyObject *x, uint64_t *out);

static inline FpSlot *fp_slot(PyObject *x) {
    return &fp_cache[(((uint64_t)(uintptr_t)x >> 4) * SEED) >> (64 - CACHE_BITS)];
}

/* A part: a remembered tuple or frozenset without a call, anything else through fp_of. */
static inline int fp_part(PyObject *x, uint64_t *out) {
    FpSlot *slot = fp_slot(x);
    if (slot->obj == x) { *out = slot->fp; return 0; }
    return fp_of(x, out);
}

static int fp_call_fallback(PyObject *x, uint64_t *out) {
    if (!fp_fallback) { PyErr_SetString(PyExc_RuntimeError, "no fallback fingerprint registered"); return -1; }
    PyObject *r = PyObject_CallOneArg(fp_fallback, x);
    fp_mutable = 1;  /* whatever the Python side reads is not known to be immutable */
    if (!r) return -1;
    *out = PyLong_AsUnsignedLongLong(r);
    Py_DECREF(r);
    return (*out == (uint64_t)-1 && PyErr_Occurred()) ? -1 : 0;
}

static int fp_items(char tag, PyObject *seq, uint64_t *out) {  /* tuples and lists: the elements in order */
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    uint64_t h = fp_start(tag, (uint64_t)n), f;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (fp_part(items[i], &f) < 0) return -1;
        h = fp_step(h, f);
    }
    *out = h;
    return 0;
}

static int fp_set(PyObject *x, uint64_t *out) {  /* sets: the sum of the elements' mixed fingerprints */
    Py_ssize_t pos = 0;
    Py_hash_t hash;
    PyObject *key;
    uint64_t acc = 0, f;
    while (_PySet_NextEntry(x, &pos, &key, &hash)) {
        if (fp_part(key, &f) < 0) return -1;
        acc += fmix(f ^ SET_KEY);
    }
    *out = fp_step(fp_start('{', (uint64_t)PySet_GET_SIZE(x)), acc);
    return 0;
}

static int fp_dict(PyObject *x, uint64_t *out) {  /* dicts: a set of (key, value) pairs */
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    uint64_t acc = 0, fk, fv;
    while (PyDict_Next(x, &pos, &key, &value)) {
        if (fp_part(key, &fk) < 0 || fp_part(value, &fv) < 0) return -1;
        acc += fmix(fp_step(fp_step(fp_start(':', 2), fk), fv) ^ SET_KEY);
    }
    *out = fp_step(fp_start('d', (uint64_t)PyDict_GET_SIZE(x)), acc);
    return 0;
}

static int fp_kept(PyObject *x, uint64_t *out) {  /* tuples and frozensets, not in the table (fp_part looked) */
    FpSlot *slot = fp_slot(x);
    int outer = fp_mutable;
    fp_mutable = 0;
    int rc = PyTuple_Check(x) ? fp_items('(', x, out) : fp_set(x, out);
    if (rc == 0 && !fp_mutable) {
        PyObject *old = slot->obj;
        slot->obj = Py_NewRef(x);
        slot->fp = *out;
        Py_XDECREF(old);  /* after the slot is consistent: a destructor may run here */
    }
    fp_mutable |= outer;
    return rc;
}

static int fp_inner(PyObject *x, uint64_t *out) {
    if (x == Py_None) { *out = fp_start('N', 0); return 0; }
    if (PyLong_Check(x)) {  /* int, bool (True is 1) and int subclasses such as IntEnum */
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(x, &overflow);
        if (v == -1 && PyErr_Occurred()) return -1;
        if (overflow) return fp_call_fallback(x, out);
        *out = fp_step(fp_start('i', 8), (uint64_t)v);
        return 0;
    }
    if (PyFloat_Check(x)) {
        double d = PyFloat_AS_DOUBLE(x);
        if (isfinite(d) && d == floor(d)) {  /* 2.0 == 2 */
            if (fabs(d) < 9.0e18) { *out = fp_step(fp_start('i', 8), (uint64_t)(long long)d); return 0; }
            return fp_call_fallback(x, out);
        }
        unsigned char bits[8];
        if (PyFloat_Pack8(d, (char *)bits, 1) < 0) return -1;
        uint64_t w;
        memcpy(&w, bits, 8);
        *out = fp_step(fp_start('f', 8), w);
        return 0;
    }
    if (PyUnicode_Check(x)) {
        Py_ssize_t n;
        const char *s = PyUnicode_AsUTF8AndSize(x, &n);
        if (s) { *out = fp_bytes('s', (const unsigned char *)s, n); return 0; }
        PyErr_Clear();
        return fp_call_fallback(x, out);  /* lone surrogates */
    }
    if (PyBytes_Check(x)) { *out = fp_bytes('b', (const unsigned char *)PyBytes_AS_STRING(x), PyBytes_GET_SIZE(x)); return 0; }
    if (PyTuple_Check(x) || PyFrozenSet_Check(x)) return fp_kept(x, out);
    fp_mutable = 1;
    if (PyList_Check(x)) return fp_items('[', x, out);
    if (PyAnySet_Check(x)) return fp_set(x, out);
    if (PyDict_Check(x)) return fp_dict(x, out);
    return fp_call_fallback(x, out);  /* bytearray, dataclasses, other enums: the Python fingerprint's */
}

static int fp_of(PyObject *x, uint64_t *out) {
    if (Py_EnterRecursiveCall(" while fingerprinting a state")) return -1;
    int rc = fp_inner(x, out);
    Py_LeaveRecursiveCall();
    return rc;
}

static PyObject *py_fingerprint(PyObject *self, PyObject *x) {
    uint64_t f;
    /* The state itself is new each time: its parts are remembered, not it. */
    int rc = PyTuple_Check(x) ? fp_items('(', x, &f) : fp_part(x, &f);
    return rc < 0 ? NULL : PyLong_FromUnsignedLongLong(f);
}

static PyObject *py_set_fallback(PyObject *self, PyObject *f) {
    if (!PyCallable_Check(f)) { PyErr_SetString(PyExc_TypeError, "the fallback fingerprint must be callable"); return NULL; }
    Py_XSETREF(fp_fallback, Py_NewRef(f));
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
    {"fingerprint", py_fingerprint, METH_O, "fingerprint(x) -> int: the 64-bit fingerprint of fingerprint.py."},
    {"set_fallback", py_set_fallback, METH_O, "set_fallback(f): the Python fingerprint for what C leaves to it."},
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
