/* The least a C forwarding proxy can do, as a floor for bench_proxy.
 *
 * CForwarder(t) holds a strong reference to t and forwards the slots the
 * proxy benchmark exercises straight to it: no resolution check, no
 * attribute rules, no recursion guard. It is built by bench_proxy at run
 * time and is not part of the package.
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
    if (!PyArg_ParseTuple(args, "O:CForwarder", &target)) {
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

static struct PyModuleDef forwarder_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_minimal_forwarder",
    .m_doc = "A minimal C forwarding proxy (benchmark floor).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__minimal_forwarder(void)
{
    if (PyType_Ready(&Forwarder_Type) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&forwarder_module);
    if (module == NULL) {
        return NULL;
    }
    Py_INCREF(&Forwarder_Type);
    if (PyModule_AddObject(module, "CForwarder",
                           (PyObject *)&Forwarder_Type) < 0) {
        Py_DECREF(&Forwarder_Type);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
