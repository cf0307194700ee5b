/* C core of proxystore.proxy.Proxy.
 *
 * ProxyBase holds the factory, the target (NULL until resolved) and the
 * cached defaults, and forwards every type slot to the target in one C
 * call. Resolution itself (locking, calling the factory, wrapping errors)
 * is done by a Python callable installed with set_resolver(), so that the
 * C and the pure-Python implementations share it; it runs only while the
 * target is missing.
 *
 * The attribute rules mirror proxystore/proxy/_pyproxy.py exactly: a name
 * found on the proxy's type (or in the instance __dict__ of a subclass
 * without __slots__) belongs to the proxy, except the forwarded specials
 * (__doc__, __module__, __dict__, __weakref__, __annotations__); anything
 * else is looked up on the target.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

/* CPython 3.11 exports no call that reads an instance attribute by its
 * index in the type's shared keys, the read its own LOAD_ATTR makes; the
 * layouts below come from that version's installed internal header (see
 * instance_value). Other versions take the public path. */
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000 && \
    !defined(Py_GIL_DISABLED) && !defined(PROXYSTORE_NO_INSTANCE_VALUES)
#define INSTANCE_VALUES 1
#define Py_BUILD_CORE 1
#include <internal/pycore_dict.h>
#undef Py_BUILD_CORE
#endif

typedef struct {
    PyObject_HEAD
    PyObject *target;        /* NULL while unresolved */
    PyObject *factory;       /* NULL if never initialised or deleted */
    PyObject *default_class; /* NULL: none */
    PyObject *default_hash;  /* NULL: none; an int or an exception */
    PyObject *weakreflist;
    unsigned char nested;    /* the target is itself a (C) proxy */
    /* Whether plain names go straight to the target (see proxy_getattro),
     * as found for the type's version tag checked_version (0: never). */
    unsigned char fast;
    unsigned int checked_version;
    /* The version tag of the target's type when that type was found to
     * inherit object's __class__ (0: not known), so that __class__, asked
     * by every isinstance(), skips the lookup (see proxy_getattro). */
    unsigned int class_version;
} ProxyObject;

static PyTypeObject ProxyBase_Type;
static PyObject *resolver = NULL;     /* Python callable(proxy) -> target */
static PyObject *base_getattr = NULL; /* ProxyBase.__dict__['__getattr__'] */
static PyObject *object_class = NULL; /* object.__dict__['__class__'] */

static PyObject *str_class, *str_doc, *str_module, *str_dict, *str_weakref,
    *str_annotations, *str_getattr, *str_getattribute, *str_orig_class,
    *str_init_subclass;

#if defined(__GNUC__) || defined(__clang__)
#define NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define NOINLINE __declspec(noinline)
#else
#define NOINLINE
#endif

/* A proxy, checked without walking the MRO for Proxy itself (whose
 * tp_base is ProxyBase). */
#define IS_PROXY(o)                                                      \
    (Py_IS_TYPE((o), &ProxyBase_Type) ||                               \
     Py_TYPE(o)->tp_base == &ProxyBase_Type ||                         \
     PyType_IsSubtype(Py_TYPE(o), &ProxyBase_Type))

/* ------------------------------------------------------------------ */
/* Target access                                                       */

/* New reference to the target, resolving through the resolver first. */
static PyObject *
proxy_target(ProxyObject *self)
{
    PyObject *target = self->target;
    if (target != NULL) {
        Py_INCREF(target);
        return target;
    }
    if (resolver == NULL) {
        PyErr_SetString(PyExc_RuntimeError,
                        "proxystore.proxy._cproxy: no resolver installed");
        return NULL;
    }
    return PyObject_CallOneArg(resolver, (PyObject *)self);
}

/* Drop the answers a proxy remembers about its type and target. */
static void
forget_answers(ProxyObject *self)
{
    self->fast = 0;
    self->checked_version = 0;
    self->class_version = 0;
}

static void
proxy_store_target(ProxyObject *self, PyObject *target)
{
    PyObject *old = self->target;
    Py_XINCREF(target);
    self->target = target;
    self->nested = target != NULL && IS_PROXY(target);
    forget_answers(self);
    Py_XDECREF(old);
}

/* A chain of proxies forwards through C calls only: guard the C stack
 * (RecursionError instead of a crash) when the target is a proxy. */
static const char *NESTED = " while forwarding to the target of a proxy";

static int
enter_nested(int nested)
{
    return nested && Py_EnterRecursiveCall(NESTED);
}

static void
leave_nested(int nested)
{
    if (nested) {
        Py_LeaveRecursiveCall();
    }
}

/* Run `expr` with `target`, a new reference to the resolved target. */
#define WITH_TARGET(self, expr)                                          \
    PyObject *target = proxy_target((ProxyObject *)(self));            \
    if (target == NULL) {                                              \
        return NULL;                                                   \
    }                                                                  \
    int nested = ((ProxyObject *)(self))->nested;                      \
    if (enter_nested(nested)) {                                        \
        Py_DECREF(target);                                             \
        return NULL;                                                   \
    }                                                                  \
    PyObject *result = (expr);                                         \
    leave_nested(nested);                                              \
    Py_DECREF(target);                                                 \
    return result;

#define WITH_TARGET_INT(self, type, expr)                                \
    PyObject *target = proxy_target((ProxyObject *)(self));            \
    if (target == NULL) {                                              \
        return -1;                                                     \
    }                                                                  \
    int nested = ((ProxyObject *)(self))->nested;                      \
    if (enter_nested(nested)) {                                        \
        Py_DECREF(target);                                             \
        return -1;                                                     \
    }                                                                  \
    type result = (expr);                                              \
    leave_nested(nested);                                              \
    Py_DECREF(target);                                                 \
    return result;

static int
check_nargs(const char *name, Py_ssize_t n, Py_ssize_t min, Py_ssize_t max)
{
    if (n < min || n > max) {
        PyErr_Format(PyExc_TypeError, "%s() takes %zd arguments (%zd given)",
                     name, min, n);
        return 0;
    }
    return 1;
}

static PyObject *
check_proxy(PyObject *obj)
{
    if (!IS_PROXY(obj)) {
        PyErr_Format(PyExc_TypeError, "Expected a Proxy, got %.200s.",
                     Py_TYPE(obj)->tp_name);
        return NULL;
    }
    return obj;
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */

static PyObject *
proxy_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    return type->tp_alloc(type, 0);
}

static PyObject *
hash_default(PyObject *target)
{
    /* The hash of the target, or the TypeError it raises (X13). */
    Py_hash_t h = PyObject_Hash(target);
    if (h == -1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_TypeError)) {
            return NULL;
        }
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyErr_NormalizeException(&type, &value, &tb);
        /* Kept without its traceback: the frames would keep the target
         * alive after the proxy dropped it. */
        Py_XDECREF(type);
        Py_XDECREF(tb);
        if (value != NULL) {
            PyException_SetTraceback(value, Py_None);
        }
        return value;
    }
    return PyLong_FromSsize_t(h);
}

static int
proxy_init(ProxyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"factory", "cache_defaults", "target", NULL};
    PyObject *factory, *target = Py_None;
    int cache_defaults = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|$pO:Proxy", kwlist,
                                     &factory, &cache_defaults, &target)) {
        return -1;
    }
    if (!PyCallable_Check(factory)) {
        PyErr_SetString(PyExc_TypeError, "Factory must be callable.");
        return -1;
    }
    PyObject *old = self->factory;
    Py_INCREF(factory);
    self->factory = factory;
    Py_XDECREF(old);
    if (target != Py_None) {
        proxy_store_target(self, target);
        if (cache_defaults) {
            PyObject *cls = PyObject_GetAttr(target, str_class);
            if (cls == NULL) {
                return -1;
            }
            PyObject *h = hash_default(target);
            if (h == NULL) {
                Py_DECREF(cls);
                return -1;
            }
            Py_XSETREF(self->default_class, cls);
            Py_XSETREF(self->default_hash, h);
        }
    }
    return 0;
}

static int
proxy_traverse(ProxyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->target);
    Py_VISIT(self->factory);
    Py_VISIT(self->default_class);
    Py_VISIT(self->default_hash);
    return 0;
}

static int
proxy_clear(ProxyObject *self)
{
    Py_CLEAR(self->target);
    forget_answers(self);
    Py_CLEAR(self->factory);
    Py_CLEAR(self->default_class);
    Py_CLEAR(self->default_hash);
    return 0;
}

static void
proxy_dealloc(ProxyObject *self)
{
    PyObject_GC_UnTrack(self);
    /* Long chains of proxies are freed iteratively, not recursively. */
    Py_TRASHCAN_BEGIN(self, proxy_dealloc)
    if (self->weakreflist != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    proxy_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
    Py_TRASHCAN_END
}

/* ------------------------------------------------------------------ */
/* Attributes                                                          */

static int
is_forwarded_special(PyObject *name)
{
    if (PyUnicode_CHECK_INTERNED(name)) {
        return name == str_doc || name == str_module || name == str_dict ||
               name == str_weakref || name == str_annotations;
    }
    return PyUnicode_Compare(name, str_doc) == 0 ||
           PyUnicode_Compare(name, str_module) == 0 ||
           PyUnicode_Compare(name, str_dict) == 0 ||
           PyUnicode_Compare(name, str_weakref) == 0 ||
           PyUnicode_Compare(name, str_annotations) == 0;
}

static PyObject *proxy_getattro(PyObject *self, PyObject *name);

/* Whether names missing on the proxy go to the target: false when a
 * subclass defines its own __getattr__ (which then gets them, X14). */
static int
forwards_missing(PyTypeObject *tp)
{
    if (tp->tp_getattro == proxy_getattro) {
        return 1;
    }
    return _PyType_Lookup(tp, str_getattr) == base_getattr;
}

static PyObject *
proxy_class(ProxyObject *self)
{
    if (self->target == NULL && self->default_class != NULL) {
        Py_INCREF(self->default_class);
        return self->default_class;
    }
    PyObject *target = proxy_target(self);
    if (target == NULL) {
        return NULL;
    }
    PyObject *cls;
    PyTypeObject *tt = Py_TYPE(target);
    if (tt->tp_getattro == PyObject_GenericGetAttr &&
        _PyType_Lookup(tt, str_class) == object_class) {
        /* The lookup gave the type a tag if it could have one. */
        self->class_version = tt->tp_version_tag;
        cls = (PyObject *)tt;
        Py_INCREF(cls);
    }
    else {
        int nested = self->nested;
        if (enter_nested(nested)) {
            Py_DECREF(target);
            return NULL;
        }
        cls = PyObject_GetAttr(target, str_class);
        leave_nested(nested);
    }
    Py_DECREF(target);
    return cls;
}

static void note_fast_path(ProxyObject *self, PyTypeObject *tp);

/* Every case of proxy_getattro (its fast path is only a shortcut). Kept
 * out of line so that the fast path stays a small leaf function. */
static NOINLINE PyObject *
proxy_getattro_general(PyObject *self, PyObject *name)
{
    PyTypeObject *tp = Py_TYPE(self);
    if (!PyUnicode_Check(name)) {
        PyErr_Format(PyExc_TypeError,
                     "attribute name must be string, not '%.200s'",
                     Py_TYPE(name)->tp_name);
        return NULL;
    }
    if (name == str_class) {
        return proxy_class((ProxyObject *)self);
    }
    PyObject *descr = _PyType_Lookup(tp, name);
    if (descr != NULL) {
        if (!is_forwarded_special(name)) {
            return PyObject_GenericGetAttr(self, name);
        }
    }
    else if (tp->tp_dictoffset != 0) {
        PyObject *dict = PyObject_GenericGetDict(self, NULL);
        if (dict == NULL) {
            return NULL;
        }
        PyObject *value = PyDict_GetItemWithError(dict, name);
        Py_XINCREF(value);
        Py_DECREF(dict);
        if (value != NULL || PyErr_Occurred()) {
            return value;
        }
    }
    if (descr == NULL && !forwards_missing(tp)) {
        PyErr_Format(PyExc_AttributeError,
                     "'%.100s' object has no attribute '%U'", tp->tp_name,
                     name);
        return NULL;
    }
    PyObject *target = proxy_target((ProxyObject *)self);
    if (target == NULL) {
        return NULL;
    }
    if (descr == NULL) {
        note_fast_path((ProxyObject *)self, tp);
    }
    /* The target's own slot directly: PyObject_GetAttr would only check
     * the name's type again. */
    int nested = ((ProxyObject *)self)->nested;
    if (enter_nested(nested)) {
        Py_DECREF(target);
        return NULL;
    }
    getattrofunc get = Py_TYPE(target)->tp_getattro;
    PyObject *result =
        get != NULL ? get(target, name) : PyObject_GetAttr(target, name);
    leave_nested(nested);
    Py_DECREF(target);
    return result;
}

/* The fast path of attribute access.
 *
 * A name that does not start with '_' goes straight to the target when the
 * proxy's type and its bases define no such name (true of Proxy itself and
 * of most subclasses), the type keeps this getattro and has no instance
 * __dict__, and the target is not itself a proxy. A proxy records the
 * answer (fast) with the type's version tag it holds for (checked_version);
 * CPython gives the type a new tag whenever the type or one of its bases
 * changes, so a stale answer never applies. A proxy asks again only when
 * the tag changed, and the answer for each (type, tag) is kept in a small
 * cache, so a type's namespaces are scanned about once per tag, not once
 * per proxy, and never once per access. */
#define FAST_CACHE_SIZE 64

static struct {
    PyTypeObject *type; /* compared only, never dereferenced */
    unsigned int version;
    int plain_names_free;
} fast_cache[FAST_CACHE_SIZE];

/* An exact, ASCII str that does not start with '_' (other names take the
 * general path). The empty name qualifies: it is never on the type. */
static inline int
is_plain_name(PyObject *name)
{
    return PyUnicode_CheckExact(name) && PyUnicode_IS_COMPACT_ASCII(name) &&
           PyUnicode_1BYTE_DATA(name)[0] != '_';
}

/* Whether no class in the MRO of `tp` defines a name without a leading
 * underscore (a non-str key counts as one). */
static int
plain_names_free(PyTypeObject *tp)
{
    PyObject *mro = tp->tp_mro;
    if (mro == NULL || !PyTuple_Check(mro)) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mro); i++) {
        PyObject *base = PyTuple_GET_ITEM(mro, i);
        if (!PyType_Check(base)) {
            return 0;
        }
#if PY_VERSION_HEX >= 0x030C0000
        PyObject *dict = PyType_GetDict((PyTypeObject *)base);
#else
        PyObject *dict = ((PyTypeObject *)base)->tp_dict;
        Py_XINCREF(dict);
#endif
        if (dict == NULL) {
            return 0;
        }
        PyObject *key, *value;
        Py_ssize_t pos = 0;
        int found = 0;
        while (!found && PyDict_Next(dict, &pos, &key, &value)) {
            found = !PyUnicode_Check(key) || PyUnicode_GET_LENGTH(key) == 0 ||
                    PyUnicode_READ_CHAR(key, 0) != '_';
        }
        Py_DECREF(dict);
        if (found) {
            return 0;
        }
    }
    return 1;
}

/* Called when a name missing on the type was forwarded to the target. */
static void
note_fast_path(ProxyObject *self, PyTypeObject *tp)
{
    unsigned int version = tp->tp_version_tag;
    if (version == 0 || self->checked_version == version) {
        return;
    }
    int fast = !self->nested && self->target != NULL &&
               tp->tp_getattro == proxy_getattro && tp->tp_dictoffset == 0;
    if (fast) {
        unsigned int slot = version % FAST_CACHE_SIZE;
        if (fast_cache[slot].type != tp ||
            fast_cache[slot].version != version) {
            fast_cache[slot].type = tp;
            fast_cache[slot].version = version;
            fast_cache[slot].plain_names_free = plain_names_free(tp);
        }
        fast = fast_cache[slot].plain_names_free;
    }
    self->fast = (unsigned char)fast;
    self->checked_version = version;
}

#ifdef INSTANCE_VALUES
/* Instance attributes on 3.11, read as LOAD_ATTR_INSTANCE_VALUE reads
 * them on the bare target.
 *
 * An instance of a type with a managed dict keeps its attribute values in
 * an array laid out by the type's shared keys, until something asks for
 * its __dict__. When no class in the type's MRO defines a name, the
 * attribute is the array item at the name's index in those keys. The
 * index of a name never changes (keys are only appended), and any change
 * to the type or a base gives it a new version tag, so an index found for
 * a (version tag, name) pair stays right. Tags are never reused. A name
 * not yet in the keys is looked for again next time (keys may grow). */
#define VALUE_CACHE_SIZE 256
#define NOT_AN_INSTANCE_VALUE (-1) /* a class defines the name */
#define NOT_IN_KEYS_YET (-2)

static struct {
    unsigned int version; /* the target type's tag; 0: empty */
    PyObject *name;       /* strong reference; exact str */
    Py_ssize_t index;     /* or one of the two codes above */
} value_cache[VALUE_CACHE_SIZE];

/* Index of `name` in the shared keys of `tp`, or NOT_IN_KEYS_YET. */
static Py_ssize_t
shared_key_index(PyTypeObject *tp, PyObject *name)
{
    PyDictKeysObject *keys = ((PyHeapTypeObject *)tp)->ht_cached_keys;
    if (keys == NULL || keys->dk_kind != DICT_KEYS_SPLIT) {
        return NOT_IN_KEYS_YET;
    }
    PyDictUnicodeEntry *entries = DK_UNICODE_ENTRIES(keys);
    for (Py_ssize_t i = 0; i < keys->dk_nentries; i++) {
        if (entries[i].me_key == name) {
            return i;
        }
    }
    return NOT_IN_KEYS_YET;
}

static inline size_t
value_slot(unsigned int version, PyObject *name)
{
    return ((size_t)version * 2654435761u ^ (size_t)name >> 4) %
           VALUE_CACHE_SIZE;
}

/* The name's index in the shared keys of `tp`, or a negative code. */
static Py_ssize_t
value_index(PyTypeObject *tp, PyObject *name)
{
    unsigned int version = tp->tp_version_tag;
    size_t slot = value_slot(version, name);
    if (value_cache[slot].version == version &&
        value_cache[slot].name == name && version != 0) {
        Py_ssize_t index = value_cache[slot].index;
        return index == NOT_IN_KEYS_YET ? shared_key_index(tp, name) : index;
    }
    /* The lookup also gives the type a tag when it can have one. */
    int on_class = _PyType_Lookup(tp, name) != NULL;
    version = tp->tp_version_tag;
    if (version == 0 || !(tp->tp_flags & Py_TPFLAGS_VALID_VERSION_TAG)) {
        return NOT_AN_INSTANCE_VALUE;
    }
    Py_ssize_t index =
        on_class ? NOT_AN_INSTANCE_VALUE : shared_key_index(tp, name);
    slot = value_slot(version, name);
    PyObject *old = value_cache[slot].name;
    Py_INCREF(name);
    value_cache[slot].name = name;
    value_cache[slot].version = version;
    value_cache[slot].index = index;
    Py_XDECREF(old);
    return index;
}

/* Borrowed value of the plain instance attribute `name` of `target`, or
 * NULL (no error set) when another path must answer. `name` is an exact
 * str (is_plain_name). */
static inline PyObject *
instance_value(PyObject *target, PyObject *name)
{
    PyTypeObject *tp = Py_TYPE(target);
    if (!(tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) ||
        !(tp->tp_flags & Py_TPFLAGS_HEAPTYPE) ||
        tp->tp_getattro != PyObject_GenericGetAttr) {
        return NULL;
    }
    /* 3.11's _PyObject_ValuesPointer (internal/pycore_object.h, which
     * cannot be included beside Python.h): four words before the object.
     * NULL once the instance's __dict__ exists. */
    PyDictValues *values = *(((PyDictValues **)target) - 4);
    if (values == NULL) {
        return NULL;
    }
    Py_ssize_t index = value_index(tp, name);
    return index < 0 ? NULL : values->values[index];
}
#endif

static PyObject *
proxy_getattro(PyObject *self, PyObject *name)
{
    ProxyObject *proxy = (ProxyObject *)self;
    PyObject *target = proxy->target;
    if (name == str_class && target != NULL && proxy->class_version != 0 &&
        proxy->class_version == Py_TYPE(target)->tp_version_tag) {
        /* Same answer as proxy_class: a type changed since gets a new tag */
        Py_INCREF(Py_TYPE(target));
        return (PyObject *)Py_TYPE(target);
    }
    if (proxy->fast &&
        proxy->checked_version == Py_TYPE(self)->tp_version_tag &&
        target != NULL && is_plain_name(name)) {
#ifdef INSTANCE_VALUES
        PyObject *value = instance_value(target, name);
        if (value != NULL) {
            Py_INCREF(value);
            return value;
        }
#endif
        getattrofunc get = Py_TYPE(target)->tp_getattro;
        if (get != NULL) {
            /* Our own reference: the target's code may drop the proxy's. */
            Py_INCREF(target);
            PyObject *result = get(target, name);
            Py_DECREF(target);
            return result;
        }
    }
    return proxy_getattro_general(self, name);
}

/* __setattr__/__delattr__ as methods (not a tp_setattro) so that
 * object.__setattr__ stays usable on subclasses (X15). */
static int
proxy_set_or_del(PyObject *self, PyObject *name, PyObject *value)
{
    if (!PyUnicode_Check(name)) {
        PyErr_Format(PyExc_TypeError,
                     "attribute name must be string, not '%.200s'",
                     Py_TYPE(name)->tp_name);
        return -1;
    }
    if (PyUnicode_Compare(name, str_orig_class) == 0) {
        /* typing sets it on instances of Proxy[T](...); never resolve. */
        PyErr_SetString(PyExc_AttributeError,
                        "a proxy does not record __orig_class__");
        return -1;
    }
    if (_PyType_Lookup(Py_TYPE(self), name) != NULL) {
        return PyObject_GenericSetAttr(self, name, value);
    }
    WITH_TARGET_INT(self, int, PyObject_SetAttr(target, name, value))
}

static PyObject *
proxy_setattr_method(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    if (!check_nargs("__setattr__", n, 2, 2)) {
        return NULL;
    }
    if (proxy_set_or_del(self, args[0], args[1]) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
proxy_delattr_method(PyObject *self, PyObject *name)
{
    if (proxy_set_or_del(self, name, NULL) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
proxy_getattr_method(PyObject *self, PyObject *name)
{
    WITH_TARGET(self, PyObject_GetAttr(target, name))
}

/* Give a subclass the C getattro again when it does not override
 * __getattr__/__getattribute__ (type creation installs the generic hook
 * because the base has a __getattr__ method). */
static PyObject *
prepare_class(PyObject *module, PyObject *cls)
{
    if (!PyType_Check(cls) ||
        !PyType_IsSubtype((PyTypeObject *)cls, &ProxyBase_Type)) {
        PyErr_SetString(PyExc_TypeError, "expected a ProxyBase subclass");
        return NULL;
    }
    PyTypeObject *tp = (PyTypeObject *)cls;
    PyObject *getattribute = _PyType_Lookup(tp, str_getattribute);
    PyObject *ours = PyDict_GetItemWithError(ProxyBase_Type.tp_dict,
                                             str_getattribute);
    if (ours == NULL && PyErr_Occurred()) {
        return NULL;
    }
    if (tp->tp_getattro != proxy_getattro && getattribute == ours &&
        _PyType_Lookup(tp, str_getattr) == base_getattr) {
        tp->tp_getattro = proxy_getattro;
        PyType_Modified(tp);
    }
    Py_RETURN_NONE;
}

static PyObject *
proxy_init_subclass(PyObject *cls, PyObject *args, PyObject *kwds)
{
    PyObject *sup = PyObject_CallFunctionObjArgs(
        (PyObject *)&PySuper_Type, (PyObject *)&ProxyBase_Type, cls, NULL);
    if (sup == NULL) {
        return NULL;
    }
    PyObject *func = PyObject_GetAttr(sup, str_init_subclass);
    Py_DECREF(sup);
    if (func == NULL) {
        return NULL;
    }
    PyObject *res = PyObject_Call(func, args, kwds);
    Py_DECREF(func);
    if (res == NULL) {
        return NULL;
    }
    Py_DECREF(res);
    return prepare_class(NULL, cls);
}

/* ------------------------------------------------------------------ */
/* Special attributes (getsets)                                        */

static PyObject *
get_factory(ProxyObject *self, void *closure)
{
    if (self->factory == NULL) {
        PyErr_SetString(PyExc_AttributeError, "__proxy_factory__");
        return NULL;
    }
    Py_INCREF(self->factory);
    return self->factory;
}

static int
set_factory(ProxyObject *self, PyObject *value, void *closure)
{
    if (value == NULL && self->factory == NULL) {
        PyErr_SetString(PyExc_AttributeError, "__proxy_factory__");
        return -1;
    }
    Py_XINCREF(value);
    Py_XSETREF(self->factory, value);
    return 0;
}

static PyObject *
get_resolved(ProxyObject *self, void *closure)
{
    return PyBool_FromLong(self->target != NULL);
}

static PyObject *
get_target_slot(ProxyObject *self, void *closure)
{
    if (self->target == NULL) {
        PyErr_SetString(PyExc_AttributeError, "__proxy_target__");
        return NULL;
    }
    Py_INCREF(self->target);
    return self->target;
}

static int
set_target_slot(ProxyObject *self, PyObject *value, void *closure)
{
    if (value == NULL && self->target == NULL) {
        PyErr_SetString(PyExc_AttributeError, "__proxy_target__");
        return -1;
    }
    proxy_store_target(self, value);
    return 0;
}

static PyObject *
get_wrapped(ProxyObject *self, void *closure)
{
    return proxy_target(self);
}

static int
set_wrapped(ProxyObject *self, PyObject *value, void *closure)
{
    proxy_store_target(self, value);
    return 0;
}

static PyObject *
get_default(PyObject **slot)
{
    PyObject *value = *slot != NULL ? *slot : Py_None;
    Py_INCREF(value);
    return value;
}

static int
set_default(PyObject **slot, PyObject *value)
{
    if (value == Py_None) {
        value = NULL;
    }
    Py_XINCREF(value);
    Py_XSETREF(*slot, value);
    return 0;
}

static PyObject *
get_default_class(ProxyObject *self, void *closure)
{
    return get_default(&self->default_class);
}

static int
set_default_class(ProxyObject *self, PyObject *value, void *closure)
{
    return set_default(&self->default_class, value);
}

static PyObject *
get_default_hash(ProxyObject *self, void *closure)
{
    return get_default(&self->default_hash);
}

static int
set_default_hash(ProxyObject *self, PyObject *value, void *closure)
{
    return set_default(&self->default_hash, value);
}

static PyObject *
getset_class(ProxyObject *self, void *closure)
{
    return proxy_class(self);
}

static int
setset_class(ProxyObject *self, PyObject *value, void *closure)
{
    WITH_TARGET_INT(self, int, PyObject_SetAttr(target, str_class, value))
}

static PyGetSetDef proxy_getset[] = {
    {"__proxy_factory__", (getter)get_factory, (setter)set_factory,
     "The factory that produces the target.", NULL},
    {"__proxy_resolved__", (getter)get_resolved, NULL,
     "Whether the target is present (never resolves).", NULL},
    {"__proxy_target__", (getter)get_target_slot, (setter)set_target_slot,
     "The target; AttributeError while unresolved (never resolves).", NULL},
    {"__proxy_wrapped__", (getter)get_wrapped, (setter)set_wrapped,
     "The target, resolving first; settable, deletable.", NULL},
    {"__proxy_default_class__", (getter)get_default_class,
     (setter)set_default_class, "Cached class of the target, or None.",
     NULL},
    {"__proxy_default_hash__", (getter)get_default_hash,
     (setter)set_default_hash,
     "Cached hash of the target (or its hash error), or None.", NULL},
    {"__class__", (getter)getset_class, (setter)setset_class,
     "The target's class (the cached default while unresolved).", NULL},
    {NULL},
};

/* ------------------------------------------------------------------ */
/* Slots                                                               */


static PyObject *
proxy_repr(ProxyObject *self)
{
    const char *name = Py_TYPE(self)->tp_name;
    PyObject *factory = self->factory != NULL ? self->factory : Py_None;
    if (self->target == NULL) {
        return PyUnicode_FromFormat("<%s at %p with factory %R>", name,
                                    (void *)self, factory);
    }
    return PyUnicode_FromFormat("<%s at %p wrapping %R at %p with factory %R>",
                                name, (void *)self, self->target,
                                (void *)self->target, factory);
}

static PyObject *
proxy_str(PyObject *self)
{
    WITH_TARGET(self, PyObject_Str(target))
}

static Py_hash_t
proxy_hash(ProxyObject *self)
{
    if (self->target == NULL && self->default_hash != NULL) {
        PyObject *h = self->default_hash;
        if (PyExceptionInstance_Check(h)) {
            PyErr_SetObject((PyObject *)Py_TYPE(h), h);
            return -1;
        }
        return PyLong_AsSsize_t(h);
    }
    WITH_TARGET_INT(self, Py_hash_t, PyObject_Hash(target))
}

static PyObject *
proxy_richcompare(PyObject *self, PyObject *other, int op)
{
    WITH_TARGET(self, PyObject_RichCompare(target, other, op))
}

static PyObject *
proxy_call(PyObject *self, PyObject *args, PyObject *kwds)
{
    WITH_TARGET(self, PyObject_Call(target, args, kwds))
}

static PyObject *
proxy_iter(PyObject *self)
{
    WITH_TARGET(self, PyObject_GetIter(target))
}

static PyObject *
iternext_of(PyObject *target)
{
    iternextfunc next = Py_TYPE(target)->tp_iternext;
    if (next == NULL || !PyIter_Check(target)) {
        PyErr_Format(PyExc_TypeError, "'%.200s' object is not an iterator",
                     Py_TYPE(target)->tp_name);
        return NULL;
    }
    return next(target);
}

static PyObject *
proxy_iternext(PyObject *self)
{
    WITH_TARGET(self, iternext_of(target))
}

static PyObject *
descr_get_of(PyObject *self, PyObject *target, PyObject *obj, PyObject *type)
{
    descrgetfunc get = Py_TYPE(target)->tp_descr_get;
    if (get == NULL) {
        Py_INCREF(self);
        return self;
    }
    return get(target, obj, type);
}

static PyObject *
proxy_descr_get(PyObject *self, PyObject *obj, PyObject *type)
{
    WITH_TARGET(self, descr_get_of(self, target, obj, type))
}

static int
proxy_getbuffer(PyObject *self, Py_buffer *view, int flags)
{
    WITH_TARGET_INT(self, int, PyObject_GetBuffer(target, view, flags))
}

/* Mapping and sequence */

static Py_ssize_t
proxy_length(PyObject *self)
{
    WITH_TARGET_INT(self, Py_ssize_t, PyObject_Size(target))
}

#ifndef Py_GIL_DISABLED /* without the GIL a list's items may move */
/* New reference to target[key] read straight from the item array when the
 * target is an exact list or tuple and key an exact int in range, as
 * CPython's own specialised subscript does; NULL, with no error set,
 * for anything else (PyObject_GetItem then answers, errors included). */
static inline PyObject *
exact_sequence_item(PyObject *target, PyObject *key)
{
    if (!PyLong_CheckExact(key)) {
        return NULL;
    }
    Py_ssize_t size;
    PyObject **items;
    if (PyList_CheckExact(target)) {
        size = PyList_GET_SIZE(target);
        items = ((PyListObject *)target)->ob_item;
    }
    else if (PyTuple_CheckExact(target)) {
        size = PyTuple_GET_SIZE(target);
        items = ((PyTupleObject *)target)->ob_item;
    }
    else {
        return NULL;
    }
#if PY_VERSION_HEX >= 0x030C0000
    if (!PyUnstable_Long_IsCompact((PyLongObject *)key)) {
        return NULL;
    }
    Py_ssize_t i = PyUnstable_Long_CompactValue((PyLongObject *)key);
#elif PY_VERSION_HEX >= 0x030B0000
    /* 3.11: Python.h includes cpython/longintrepr.h; one digit or zero. */
    Py_ssize_t sign = Py_SIZE(key);
    if (sign < -1 || sign > 1) {
        return NULL;
    }
    Py_ssize_t i = sign * (Py_ssize_t)((PyLongObject *)key)->ob_digit[0];
#else
    int overflow;
    long i = PyLong_AsLongAndOverflow(key, &overflow);
    if (overflow) {
        return NULL;
    }
#endif
    if (i < 0) {
        i += size;
    }
    if (i < 0 || i >= size) {
        return NULL;
    }
    PyObject *item = items[i];
    Py_INCREF(item);
    return item;
}
#endif

static PyObject *
proxy_getitem(PyObject *self, PyObject *key)
{
#ifndef Py_GIL_DISABLED
    PyObject *resolved = ((ProxyObject *)self)->target;
    if (resolved != NULL) {
        PyObject *item = exact_sequence_item(resolved, key);
        if (item != NULL) {
            return item;
        }
    }
#endif
    WITH_TARGET(self, PyObject_GetItem(target, key))
}

static int
setitem_of(PyObject *target, PyObject *key, PyObject *value)
{
    if (value == NULL) {
        return PyObject_DelItem(target, key);
    }
    return PyObject_SetItem(target, key, value);
}

static int
proxy_setitem(PyObject *self, PyObject *key, PyObject *value)
{
    WITH_TARGET_INT(self, int, setitem_of(target, key, value))
}

static PyObject *
proxy_sq_item(PyObject *self, Py_ssize_t i)
{
    WITH_TARGET(self, PySequence_GetItem(target, i))
}

static int
sq_setitem_of(PyObject *target, Py_ssize_t i, PyObject *value)
{
    if (value == NULL) {
        return PySequence_DelItem(target, i);
    }
    return PySequence_SetItem(target, i, value);
}

static int
proxy_sq_ass_item(PyObject *self, Py_ssize_t i, PyObject *value)
{
    WITH_TARGET_INT(self, int, sq_setitem_of(target, i, value))
}

static int
proxy_contains(PyObject *self, PyObject *value)
{
    WITH_TARGET_INT(self, int, PySequence_Contains(target, value))
}

static PyMappingMethods proxy_as_mapping = {
    .mp_length = proxy_length,
    .mp_subscript = proxy_getitem,
    .mp_ass_subscript = proxy_setitem,
};

static PySequenceMethods proxy_as_sequence = {
    .sq_length = proxy_length,
    .sq_item = proxy_sq_item,
    .sq_ass_item = proxy_sq_ass_item,
    .sq_contains = proxy_contains,
};

/* Numbers */

/* The shortcut of the binary operators: when the proxy's target and the
 * other operand are both exact ints or both exact floats, call that type's
 * own slot (at `offset` in PyNumberMethods). Such a pair never defers to
 * another type, so the slot gives what PyNumber_* would after its
 * dispatch. Returns 0, touching nothing, for any other pair. */
static inline int
number_shortcut(PyObject *a, PyObject *b, int a_is_proxy, size_t offset,
                PyObject **result)
{
    PyObject *target = ((ProxyObject *)(a_is_proxy ? a : b))->target;
    if (target == NULL) {
        return 0;
    }
    PyObject *left = a_is_proxy ? target : a;
    PyObject *right = a_is_proxy ? b : target;
    if (Py_TYPE(left) != Py_TYPE(right) ||
        !(PyLong_CheckExact(left) || PyFloat_CheckExact(left))) {
        return 0;
    }
    binaryfunc direct =
        *(binaryfunc *)((char *)Py_TYPE(left)->tp_as_number + offset);
    if (direct == NULL) {
        return 0;
    }
    /* Our own reference: a collection while the slot allocates (divmod's
     * tuple) may run code that replaces the proxy's target. */
    Py_INCREF(target);
    *result = direct(left, right);
    Py_DECREF(target);
    return 1;
}

#define BINARY(slotname, func, slot)                                    \
    static PyObject *slotname(PyObject *a, PyObject *b)                \
    {                                                                  \
        int a_is_proxy = IS_PROXY(a);                                  \
        PyObject *shortcut;                                            \
        if (number_shortcut(a, b, a_is_proxy,                          \
                            offsetof(PyNumberMethods, slot), &shortcut)) { \
            return shortcut;                                           \
        }                                                              \
        if (a_is_proxy) {                                              \
            WITH_TARGET(a, func(target, b))                            \
        }                                                              \
        WITH_TARGET(b, func(a, target))                                \
    }

#define INPLACE(slotname, func)                                         \
    static PyObject *slotname(PyObject *self, PyObject *other)         \
    {                                                                  \
        PyObject *target = proxy_target((ProxyObject *)self);          \
        if (target == NULL) {                                          \
            return NULL;                                               \
        }                                                              \
        int nested = ((ProxyObject *)self)->nested;                    \
        if (enter_nested(nested)) {                                    \
            Py_DECREF(target);                                         \
            return NULL;                                               \
        }                                                              \
        PyObject *result = func(target, other);                        \
        leave_nested(nested);                                          \
        Py_DECREF(target);                                             \
        if (result == NULL) {                                          \
            return NULL;                                               \
        }                                                              \
        proxy_store_target((ProxyObject *)self, result);               \
        Py_DECREF(result);                                             \
        Py_INCREF(self);                                               \
        return self;                                                   \
    }

#define UNARY(slotname, func)                                           \
    static PyObject *slotname(PyObject *self)                          \
    {                                                                  \
        WITH_TARGET(self, func(target))                                \
    }

BINARY(proxy_add, PyNumber_Add, nb_add)
BINARY(proxy_sub, PyNumber_Subtract, nb_subtract)
BINARY(proxy_mul, PyNumber_Multiply, nb_multiply)
BINARY(proxy_matmul, PyNumber_MatrixMultiply, nb_matrix_multiply)
BINARY(proxy_truediv, PyNumber_TrueDivide, nb_true_divide)
BINARY(proxy_floordiv, PyNumber_FloorDivide, nb_floor_divide)
BINARY(proxy_mod, PyNumber_Remainder, nb_remainder)
BINARY(proxy_divmod, PyNumber_Divmod, nb_divmod)
BINARY(proxy_lshift, PyNumber_Lshift, nb_lshift)
BINARY(proxy_rshift, PyNumber_Rshift, nb_rshift)
BINARY(proxy_and, PyNumber_And, nb_and)
BINARY(proxy_xor, PyNumber_Xor, nb_xor)
BINARY(proxy_or, PyNumber_Or, nb_or)

INPLACE(proxy_iadd, PyNumber_InPlaceAdd)
INPLACE(proxy_isub, PyNumber_InPlaceSubtract)
INPLACE(proxy_imul, PyNumber_InPlaceMultiply)
INPLACE(proxy_imatmul, PyNumber_InPlaceMatrixMultiply)
INPLACE(proxy_itruediv, PyNumber_InPlaceTrueDivide)
INPLACE(proxy_ifloordiv, PyNumber_InPlaceFloorDivide)
INPLACE(proxy_imod, PyNumber_InPlaceRemainder)
INPLACE(proxy_ilshift, PyNumber_InPlaceLshift)
INPLACE(proxy_irshift, PyNumber_InPlaceRshift)
INPLACE(proxy_iand, PyNumber_InPlaceAnd)
INPLACE(proxy_ixor, PyNumber_InPlaceXor)
INPLACE(proxy_ior, PyNumber_InPlaceOr)

UNARY(proxy_neg, PyNumber_Negative)
UNARY(proxy_pos, PyNumber_Positive)
UNARY(proxy_abs, PyNumber_Absolute)
UNARY(proxy_invert, PyNumber_Invert)
UNARY(proxy_int, PyNumber_Long)
UNARY(proxy_float, PyNumber_Float)

static PyObject *
index_of(PyObject *target)
{
    /* X11: __index__ when the target has one, else int(target). */
    if (PyIndex_Check(target)) {
        return PyNumber_Index(target);
    }
    return PyNumber_Long(target);
}

UNARY(proxy_index, index_of)

static PyObject *
power3(PyObject *a, PyObject *b, PyObject *c)
{
    return PyNumber_Power(a, b, c);
}

static PyObject *
proxy_pow(PyObject *a, PyObject *b, PyObject *c)
{
    if (IS_PROXY(a)) {
        WITH_TARGET(a, power3(target, b, c))
    }
    if (IS_PROXY(b)) {
        WITH_TARGET(b, power3(a, target, c))
    }
    WITH_TARGET(c, power3(a, b, target))
}

static PyObject *
proxy_ipow(PyObject *self, PyObject *other, PyObject *mod)
{
    PyObject *target = proxy_target((ProxyObject *)self);
    if (target == NULL) {
        return NULL;
    }
    int nested = ((ProxyObject *)self)->nested;
    if (enter_nested(nested)) {
        Py_DECREF(target);
        return NULL;
    }
    PyObject *result = PyNumber_InPlacePower(target, other, mod);
    leave_nested(nested);
    Py_DECREF(target);
    if (result == NULL) {
        return NULL;
    }
    proxy_store_target((ProxyObject *)self, result);
    Py_DECREF(result);
    Py_INCREF(self);
    return self;
}

static int
proxy_bool(PyObject *self)
{
    WITH_TARGET_INT(self, int, PyObject_IsTrue(target))
}

static PyNumberMethods proxy_as_number = {
    .nb_add = proxy_add,
    .nb_subtract = proxy_sub,
    .nb_multiply = proxy_mul,
    .nb_remainder = proxy_mod,
    .nb_divmod = proxy_divmod,
    .nb_power = proxy_pow,
    .nb_negative = proxy_neg,
    .nb_positive = proxy_pos,
    .nb_absolute = proxy_abs,
    .nb_bool = proxy_bool,
    .nb_invert = proxy_invert,
    .nb_lshift = proxy_lshift,
    .nb_rshift = proxy_rshift,
    .nb_and = proxy_and,
    .nb_xor = proxy_xor,
    .nb_or = proxy_or,
    .nb_int = proxy_int,
    .nb_float = proxy_float,
    .nb_inplace_add = proxy_iadd,
    .nb_inplace_subtract = proxy_isub,
    .nb_inplace_multiply = proxy_imul,
    .nb_inplace_remainder = proxy_imod,
    .nb_inplace_power = proxy_ipow,
    .nb_inplace_lshift = proxy_ilshift,
    .nb_inplace_rshift = proxy_irshift,
    .nb_inplace_and = proxy_iand,
    .nb_inplace_xor = proxy_ixor,
    .nb_inplace_or = proxy_ior,
    .nb_floor_divide = proxy_floordiv,
    .nb_true_divide = proxy_truediv,
    .nb_inplace_floor_divide = proxy_ifloordiv,
    .nb_inplace_true_divide = proxy_itruediv,
    .nb_index = proxy_index,
    .nb_matrix_multiply = proxy_matmul,
    .nb_inplace_matrix_multiply = proxy_imatmul,
};

/* Async */

static PyObject *
await_of(PyObject *target)
{
    PyAsyncMethods *am = Py_TYPE(target)->tp_as_async;
    if (am != NULL && am->am_await != NULL) {
        return am->am_await(target);
    }
    if (PyGen_CheckExact(target)) {
        /* A generator-based coroutine (types.coroutine). */
        PyObject *code = PyObject_GetAttrString(target, "gi_code");
        if (code == NULL) {
            return NULL;
        }
        PyObject *flags = PyObject_GetAttrString(code, "co_flags");
        Py_DECREF(code);
        if (flags == NULL) {
            return NULL;
        }
        long value = PyLong_AsLong(flags);
        Py_DECREF(flags);
        if (value == -1 && PyErr_Occurred()) {
            return NULL;
        }
        if (value & CO_ITERABLE_COROUTINE) {
            Py_INCREF(target);
            return target;
        }
    }
    PyErr_Format(PyExc_TypeError,
                 "object %.100s can't be used in 'await' expression",
                 Py_TYPE(target)->tp_name);
    return NULL;
}

static PyObject *
aiter_of(PyObject *target)
{
    PyAsyncMethods *am = Py_TYPE(target)->tp_as_async;
    if (am != NULL && am->am_aiter != NULL) {
        return am->am_aiter(target);
    }
    PyErr_Format(PyExc_TypeError,
                 "'async for' requires an object with __aiter__ method, "
                 "got %.100s",
                 Py_TYPE(target)->tp_name);
    return NULL;
}

static PyObject *
anext_of(PyObject *target)
{
    PyAsyncMethods *am = Py_TYPE(target)->tp_as_async;
    if (am != NULL && am->am_anext != NULL) {
        return am->am_anext(target);
    }
    PyErr_Format(PyExc_TypeError, "'%.200s' object is not an async iterator",
                 Py_TYPE(target)->tp_name);
    return NULL;
}

UNARY(proxy_await, await_of)
UNARY(proxy_aiter, aiter_of)
UNARY(proxy_anext, anext_of)

static PyAsyncMethods proxy_as_async = {
    .am_await = proxy_await,
    .am_aiter = proxy_aiter,
    .am_anext = proxy_anext,
};

static PyBufferProcs proxy_as_buffer = {
    .bf_getbuffer = proxy_getbuffer,
};

static PyMethodDef proxy_methods[] = {
    {"__getattr__", (PyCFunction)proxy_getattr_method, METH_O,
     "Look a name up on the target (resolving it first)."},
    {"__setattr__", (PyCFunction)(void (*)(void))proxy_setattr_method,
     METH_FASTCALL,
     "Set on the proxy a name its type defines, else on the target."},
    {"__delattr__", (PyCFunction)proxy_delattr_method, METH_O,
     "Delete from the proxy a name its type defines, else from the "
     "target."},
    {"__init_subclass__", (PyCFunction)(void (*)(void))proxy_init_subclass,
     METH_VARARGS | METH_KEYWORDS | METH_CLASS,
     "Keep the C attribute lookup for subclasses."},
    {NULL},
};

static PyTypeObject ProxyBase_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "proxystore.proxy._cproxy.ProxyBase",
    .tp_basicsize = sizeof(ProxyObject),
    .tp_dealloc = (destructor)proxy_dealloc,
    .tp_as_async = &proxy_as_async,
    .tp_repr = (reprfunc)proxy_repr,
    .tp_as_number = &proxy_as_number,
    .tp_as_sequence = &proxy_as_sequence,
    .tp_as_mapping = &proxy_as_mapping,
    .tp_hash = (hashfunc)proxy_hash,
    .tp_call = proxy_call,
    .tp_str = proxy_str,
    .tp_getattro = proxy_getattro,
    .tp_as_buffer = &proxy_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "C core of proxystore.proxy.Proxy.",
    .tp_traverse = (traverseproc)proxy_traverse,
    .tp_clear = (inquiry)proxy_clear,
    .tp_richcompare = proxy_richcompare,
    .tp_weaklistoffset = offsetof(ProxyObject, weakreflist),
    .tp_iter = proxy_iter,
    .tp_iternext = proxy_iternext,
    .tp_methods = proxy_methods,
    .tp_getset = proxy_getset,
    .tp_descr_get = proxy_descr_get,
    .tp_init = (initproc)proxy_init,
    .tp_new = proxy_new,
};

/* ------------------------------------------------------------------ */
/* Module functions (the backend interface shared with _pyproxy.py)   */

static PyObject *
mod_set_resolver(PyObject *module, PyObject *func)
{
    if (!PyCallable_Check(func)) {
        PyErr_SetString(PyExc_TypeError, "resolver must be callable");
        return NULL;
    }
    Py_INCREF(func);
    Py_XSETREF(resolver, func);
    Py_RETURN_NONE;
}

static PyObject *
mod_get_target(PyObject *module, PyObject *proxy)
{
    if (check_proxy(proxy) == NULL) {
        return NULL;
    }
    return proxy_target((ProxyObject *)proxy);
}

static PyObject *
mod_has_target(PyObject *module, PyObject *proxy)
{
    if (check_proxy(proxy) == NULL) {
        return NULL;
    }
    return PyBool_FromLong(((ProxyObject *)proxy)->target != NULL);
}

static PyObject *
mod_peek_target(PyObject *module, PyObject *proxy)
{
    if (check_proxy(proxy) == NULL) {
        return NULL;
    }
    return get_target_slot((ProxyObject *)proxy, NULL);
}

static PyObject *
mod_set_target(PyObject *module, PyObject *const *args, Py_ssize_t n)
{
    if (!check_nargs("set_target", n, 2, 2) ||
        check_proxy(args[0]) == NULL) {
        return NULL;
    }
    proxy_store_target((ProxyObject *)args[0], args[1]);
    Py_RETURN_NONE;
}

static PyObject *
mod_clear_target(PyObject *module, PyObject *proxy)
{
    if (check_proxy(proxy) == NULL) {
        return NULL;
    }
    proxy_store_target((ProxyObject *)proxy, NULL);
    Py_RETURN_NONE;
}

static PyObject *
mod_get_factory(PyObject *module, PyObject *proxy)
{
    if (check_proxy(proxy) == NULL) {
        return NULL;
    }
    return get_factory((ProxyObject *)proxy, NULL);
}

static PyObject *
mod_get_defaults(PyObject *module, PyObject *proxy)
{
    if (check_proxy(proxy) == NULL) {
        return NULL;
    }
    ProxyObject *p = (ProxyObject *)proxy;
    PyObject *cls = p->default_class ? p->default_class : Py_None;
    PyObject *h = p->default_hash ? p->default_hash : Py_None;
    return PyTuple_Pack(2, cls, h);
}

static PyObject *
mod_setup(PyObject *module, PyObject *const *args, Py_ssize_t n)
{
    /* setup(proxy, factory, default_class, default_hash): unpickling. */
    if (!check_nargs("setup", n, 4, 4) ||
        check_proxy(args[0]) == NULL) {
        return NULL;
    }
    ProxyObject *p = (ProxyObject *)args[0];
    Py_INCREF(args[1]);
    Py_XSETREF(p->factory, args[1]);
    set_default(&p->default_class, args[2]);
    set_default(&p->default_hash, args[3]);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"set_resolver", mod_set_resolver, METH_O,
     "Install the callable that resolves a proxy."},
    {"get_target", mod_get_target, METH_O,
     "Return the target, resolving the proxy first if needed."},
    {"has_target", mod_has_target, METH_O,
     "Whether the proxy holds its target."},
    {"peek_target", mod_peek_target, METH_O,
     "Return the target; AttributeError if unresolved."},
    {"set_target", (PyCFunction)(void (*)(void))mod_set_target,
     METH_FASTCALL, "Store the target."},
    {"clear_target", mod_clear_target, METH_O, "Drop the target."},
    {"get_factory", mod_get_factory, METH_O,
     "Return the factory; AttributeError if missing."},
    {"get_defaults", mod_get_defaults, METH_O,
     "Return (default_class, default_hash)."},
    {"setup", (PyCFunction)(void (*)(void))mod_setup, METH_FASTCALL,
     "Set factory and defaults of a new proxy."},
    {"prepare_class", prepare_class, METH_O,
     "Restore the C attribute lookup on a subclass."},
    {NULL},
};

static struct PyModuleDef cproxy_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "proxystore.proxy._cproxy",
    .m_doc = "C core of proxystore proxies.",
    .m_size = -1,
    .m_methods = module_methods,
};

static int
intern(PyObject **slot, const char *text)
{
    *slot = PyUnicode_InternFromString(text);
    return *slot == NULL ? -1 : 0;
}

PyMODINIT_FUNC
PyInit__cproxy(void)
{
    if (intern(&str_class, "__class__") < 0 ||
        intern(&str_doc, "__doc__") < 0 ||
        intern(&str_module, "__module__") < 0 ||
        intern(&str_dict, "__dict__") < 0 ||
        intern(&str_weakref, "__weakref__") < 0 ||
        intern(&str_annotations, "__annotations__") < 0 ||
        intern(&str_getattr, "__getattr__") < 0 ||
        intern(&str_getattribute, "__getattribute__") < 0 ||
        intern(&str_orig_class, "__orig_class__") < 0 ||
        intern(&str_init_subclass, "__init_subclass__") < 0) {
        return NULL;
    }
    if (PyType_Ready(&ProxyBase_Type) < 0) {
        return NULL;
    }
    base_getattr = PyDict_GetItemWithError(ProxyBase_Type.tp_dict,
                                           str_getattr);
    if (base_getattr == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_RuntimeError, "__getattr__ missing");
        }
        return NULL;
    }
    Py_INCREF(base_getattr);
    object_class = _PyType_Lookup(&PyBaseObject_Type, str_class);
    if (object_class == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "object.__class__ missing");
        return NULL;
    }
    Py_INCREF(object_class);
    PyObject *m = PyModule_Create(&cproxy_module);
    if (m == NULL) {
        return NULL;
    }
    Py_INCREF(&ProxyBase_Type);
    if (PyModule_AddObject(m, "ProxyBase", (PyObject *)&ProxyBase_Type) < 0) {
        Py_DECREF(&ProxyBase_Type);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
