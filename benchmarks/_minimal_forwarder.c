/* The least a C forwarding proxy can do, as floors for bench_proxy.
 *
 * CForwarder(t) holds a strong reference to t and forwards the slots the
 * proxy benchmark exercises straight to it: no resolution check, no
 * attribute rules, no recursion guard.
 *
 * CConstant(v) does not forward at all: its attribute, item and addition
 * slots return v, its length is 3 and its hash 7. It measures what the
 * interpreter alone spends reaching a C type's slot, a cost any proxy
 * pays before it does any work.
 *
 * Built by bench_proxy at run time; not part of the package.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef struct {
    PyObject_HEAD
    PyObject *target;
} ForwarderObject;

#define TARGET(o) (((ForwarderObject *)(o))->target)

static PyObject *
forwarder_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *target;
    if (!PyArg_ParseTuple(args, "O", &target)) {
        return NULL;
    }
    PyObject *self = type->tp_alloc(type, 0);
    if (self != NULL) {
        Py_INCREF(target);
        TARGET(self) = target;
    }
    return self;
}

static void
forwarder_dealloc(PyObject *self)
{
    Py_XDECREF(TARGET(self));
    Py_TYPE(self)->tp_free(self);
}

static PyObject *
forwarder_getattro(PyObject *self, PyObject *name)
{
    PyObject *target = TARGET(self);
    getattrofunc get = Py_TYPE(target)->tp_getattro;
    return get != NULL ? get(target, name) : PyObject_GetAttr(target, name);
}

static Py_hash_t
forwarder_hash(PyObject *self)
{
    return PyObject_Hash(TARGET(self));
}

static Py_ssize_t
forwarder_length(PyObject *self)
{
    return PyObject_Size(TARGET(self));
}

static PyObject *
forwarder_getitem(PyObject *self, PyObject *key)
{
    return PyObject_GetItem(TARGET(self), key);
}

static PyObject *
forwarder_add(PyObject *left, PyObject *right)
{
    if (Py_TYPE(left)->tp_hash != forwarder_hash) {
        Py_RETURN_NOTIMPLEMENTED;
    }
    return PyNumber_Add(TARGET(left), right);
}

static PySequenceMethods forwarder_as_sequence = {
    .sq_length = forwarder_length,
};

static PyMappingMethods forwarder_as_mapping = {
    .mp_length = forwarder_length,
    .mp_subscript = forwarder_getitem,
};

static PyNumberMethods forwarder_as_number = {
    .nb_add = forwarder_add,
};

static PyTypeObject Forwarder_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_minimal_forwarder.CForwarder",
    .tp_basicsize = sizeof(ForwarderObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Forward a few slots straight to the wrapped object.",
    .tp_new = forwarder_new,
    .tp_dealloc = forwarder_dealloc,
    .tp_getattro = forwarder_getattro,
    .tp_hash = forwarder_hash,
    .tp_as_sequence = &forwarder_as_sequence,
    .tp_as_mapping = &forwarder_as_mapping,
    .tp_as_number = &forwarder_as_number,
};

/* CConstant shares the layout: its one field is the value it returns. */
static PyObject *
constant_value(PyObject *self, PyObject *unused)
{
    (void)unused;
    Py_INCREF(TARGET(self));
    return TARGET(self);
}

static Py_hash_t
constant_hash(PyObject *self)
{
    (void)self;
    return 7;
}

static Py_ssize_t
constant_length(PyObject *self)
{
    (void)self;
    return 3;
}

static PySequenceMethods constant_as_sequence = {
    .sq_length = constant_length,
};

static PyMappingMethods constant_as_mapping = {
    .mp_length = constant_length,
    .mp_subscript = constant_value,
};

static PyNumberMethods constant_as_number = {
    .nb_add = constant_value,
};

static PyTypeObject Constant_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_minimal_forwarder.CConstant",
    .tp_basicsize = sizeof(ForwarderObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Answer a few slots with a fixed value, forwarding nothing.",
    .tp_new = forwarder_new,
    .tp_dealloc = forwarder_dealloc,
    .tp_getattro = constant_value,
    .tp_hash = constant_hash,
    .tp_as_sequence = &constant_as_sequence,
    .tp_as_mapping = &constant_as_mapping,
    .tp_as_number = &constant_as_number,
};

static int
add_type(PyObject *module, const char *name, PyTypeObject *type)
{
    if (PyType_Ready(type) < 0) {
        return -1;
    }
    Py_INCREF(type);
    if (PyModule_AddObject(module, name, (PyObject *)type) < 0) {
        Py_DECREF(type);
        return -1;
    }
    return 0;
}

static struct PyModuleDef forwarder_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_minimal_forwarder",
    .m_doc = "A minimal C forwarding proxy (benchmark floor).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__minimal_forwarder(void)
{
    PyObject *module = PyModule_Create(&forwarder_module);
    if (module == NULL) {
        return NULL;
    }
    if (add_type(module, "CForwarder", &Forwarder_Type) < 0 ||
        add_type(module, "CConstant", &Constant_Type) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
