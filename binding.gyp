{
  "targets": [{
    "target_name": "flare",
    "sources": ["native/addon.cc", "native/errors.cc", "native/tensor.cc", "native/ops.cc", "native/distributed.cc", "native/reducer.cc", "native/kernels.cc", "native/autograd.cc", "native/roi_align.cc", "native/roi_pool.cc", "native/nms.cc", "native/generator.cc", "native/cpu_cache.cc", "native/jpeg.cc"],
    "include_dirs": [
      "<!(node -p \"require('node-addon-api').include_dir\")",
      "<!@(node -p \"require('./native/locate-libtorch.cjs').include.join(' ')\")"
    ],
    "defines": [
      "NAPI_VERSION=9",
      "NODE_ADDON_API_DISABLE_DEPRECATED",
      "NODE_ADDON_API_CPP_EXCEPTIONS",
      "_GLIBCXX_USE_CXX11_ABI=<!(node -p \"require('./native/locate-libtorch.cjs').abi\")",
      "<!@(node -p \"require('./native/locate-libtorch.cjs').defines\")"
    ],
    "cflags!": ["-fno-exceptions", "-fno-rtti"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
    "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
    "libraries": [
      "-L<!(node -p \"require('./native/locate-libtorch.cjs').lib\")",
      "-Wl,-rpath,<!(node -p \"require('./native/locate-libtorch.cjs').lib\")",
      "<!@(node -p \"require('./native/locate-libtorch.cjs').libs\")",
      "-ljpeg"
    ]
  }]
}
