// The only file that knows about Python: builds the private module fastsbert._core over
// the plain C++ library. Inputs are checked and viewed without copying while the GIL is
// held; the GIL is released once for the whole native call; outputs are allocated once.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>

#include "fastsbert/encoder.h"

namespace py = pybind11;

namespace {

// Checks that `a` is a C-contiguous 1-D array of dtype T; never casts.
template <typename T>
py::array_t<T> require_1d(const py::array& a, const char* name) {
  if (!py::isinstance<py::array_t<T>>(a) || !a.dtype().is(py::dtype::of<T>())) {
    throw py::type_error(std::string(name) + ": expected a numpy array of dtype " +
                         std::string(py::str(py::dtype::of<T>())) + ", got " +
                         std::string(py::str(a.dtype())));
  }
  if (a.ndim() != 1) throw py::value_error(std::string(name) + ": expected a 1-D array");
  if (!(a.flags() & py::array::c_style)) {
    throw py::value_error(std::string(name) + ": expected a C-contiguous array");
  }
  return py::reinterpret_borrow<py::array_t<T>>(a);
}

// ---------------------------------------------------------------- engine
py::array_t<float> encoder_encode_ids(const fastsbert::Encoder& self, const py::array& ids_in,
                                      const py::array& offsets_in, int batch_size,
                                      py::object progress) {
  auto ids = require_1d<int64_t>(ids_in, "ids");
  auto offsets = require_1d<int64_t>(offsets_in, "offsets");
  if (offsets.size() < 1) throw py::value_error("offsets: expected n + 1 entries");
  const size_t n = static_cast<size_t>(offsets.size() - 1);
  py::array_t<float> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(self.dim())});

  fastsbert::TokenSequences seqs;
  seqs.ids = ids.data();
  seqs.offsets = offsets.data();
  seqs.count = n;
  if (n > 0 && offsets.at(n) != ids.size()) {
    throw py::value_error("offsets: last entry must equal len(ids)");
  }
  fastsbert::EncodeOptions opts;
  opts.batch_size = batch_size;
  if (!progress.is_none()) {
    opts.progress = [progress](size_t done) {
      py::gil_scoped_acquire gil;
      progress(done);
    };
  }
  float* dst = out.mutable_data();
  {
    py::gil_scoped_release nogil;
    self.encode_ids(seqs, dst, opts);
  }
  return out;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "fastsbert native core (private; use the fastsbert package)";
  py::register_exception<fastsbert::Error>(m, "FastsbertError", PyExc_RuntimeError);

  // ---------------------------------------------------------------- engine
  py::class_<fastsbert::Encoder>(m, "Encoder")
      .def(py::init([](const std::string& model_dir, const std::string& device, int threads,
                       const std::string& ort_library) {
             fastsbert::EncoderOptions o;
             o.device = device;
             o.threads = threads;
             o.ort_library = ort_library;
             py::gil_scoped_release nogil;
             return std::make_unique<fastsbert::Encoder>(model_dir, o);
           }),
           py::arg("model_dir"), py::arg("device") = "cpu", py::arg("threads") = 0,
           py::arg("ort_library") = "")
      .def_property_readonly("dim", &fastsbert::Encoder::dim)
      .def_property_readonly("max_seq_length", &fastsbert::Encoder::max_seq_length)
      .def_property_readonly("model_dir", &fastsbert::Encoder::model_dir)
      .def_property_readonly("pooling", [](const fastsbert::Encoder& e) { return e.config().pooling; })
      .def_property_readonly("normalize", [](const fastsbert::Encoder& e) { return e.config().normalize; })
      .def_property_readonly("pad_token_id", [](const fastsbert::Encoder& e) { return e.config().pad_token_id; })
      .def("encode_ids", &encoder_encode_ids, py::arg("ids"), py::arg("offsets"),
           py::arg("batch_size") = 32, py::arg("progress") = py::none(),
           "Embeds CSR token sequences; returns a (n, dim) float32 array in input order.");
  m.def("onnxruntime_version", &fastsbert::onnxruntime_version);

  // ---------------------------------------------------------------- tokenizer
  // (native tokenizer bindings go here)

  // ---------------------------------------------------------------- topk
  // (top-k similarity bindings go here)
}
