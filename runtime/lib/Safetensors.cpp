//===- Safetensors.cpp - reading and writing .safetensors files -----------===//

#include "Safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sys/stat.h>
#include <tuple>
#include <unistd.h>

namespace nlrt {

static size_t dtypeSize(const std::string &dtype) {
  if (dtype == "F32" || dtype == "I32")
    return 4;
  if (dtype == "F64" || dtype == "I64")
    return 8;
  return 0;
}

void writeSafetensors(const std::string &path, const Safetensors &file) {
  nlohmann::json header = nlohmann::json::object();
  uint64_t offset = 0;
  for (const auto &[name, t] : file.tensors) {
    header[name] = {{"dtype", t.dtype},
                    {"shape", t.shape},
                    {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  if (!file.metadata.empty())
    header["__metadata__"] = file.metadata;
  std::string text = header.dump();
  // Pad the header so that the data starts 8-byte aligned.
  text.append((8 - text.size() % 8) % 8, ' ');

  // The file is written beside `path`, then renamed onto it: a device, FIFO
  // or directory there would be replaced, not written.
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    throw Error("cannot write '" + path + "': " +
                (S_ISDIR(st.st_mode) ? "it is a directory"
                                     : "it is not a regular file") +
                " (a safetensors file is written beside it, then renamed "
                "onto it)");
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  FILE *f = std::fopen(tmp.c_str(), "wb");
  if (!f)
    throw Error("cannot write '" + tmp + "': " + std::strerror(errno));
  uint64_t n = text.size();
  unsigned char len[8];
  for (int i = 0; i < 8; ++i)
    len[i] = static_cast<unsigned char>(n >> (8 * i));
  bool ok = std::fwrite(len, 1, 8, f) == 8 &&
            std::fwrite(text.data(), 1, text.size(), f) == text.size();
  for (const auto &[name, t] : file.tensors)
    ok = ok &&
         std::fwrite(t.bytes.data(), 1, t.bytes.size(), f) == t.bytes.size();
  ok = ok && std::fflush(f) == 0 && fsync(fileno(f)) == 0;
  int err = errno;
  ok = std::fclose(f) == 0 && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    if (ok)
      err = errno;
    std::remove(tmp.c_str());
    throw Error("cannot write '" + path + "': " + std::strerror(err));
  }
}

Safetensors readSafetensors(const std::string &path) {
  // A directory opens as a stream on Linux and a FIFO would block: name them.
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    throw Error("cannot read '" + path + "': " +
                (S_ISDIR(st.st_mode) ? "it is a directory"
                                     : "it is not a regular file") +
                ", not a safetensors file");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in)
    throw Error("cannot read '" + path + "': " + std::strerror(errno));
  uint64_t size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  auto bad = [&](const std::string &why) {
    return Error("'" + path + "' is not a valid safetensors file: " + why);
  };
  if (size < 8)
    throw bad("it has " + std::to_string(size) +
              " bytes, fewer than the 8-byte header length (truncated?)");
  unsigned char len[8];
  in.read(reinterpret_cast<char *>(len), 8);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i)
    n |= static_cast<uint64_t>(len[i]) << (8 * i);
  if (n > size - 8)
    throw bad("the header claims " + std::to_string(n) +
              " bytes but the file has " + std::to_string(size - 8) +
              " after the length (truncated?)");
  std::string text(n, '\0');
  in.read(text.data(), static_cast<std::streamsize>(n));
  nlohmann::json header = nlohmann::json::parse(text, nullptr, false);
  if (header.is_discarded() || !header.is_object())
    throw bad("the header is not a JSON object (corrupted?)");
  uint64_t dataSize = size - 8 - n;
  Safetensors file;
  // (begin, end, name) of every tensor: together they must tile the data
  // section, without overlaps or holes (the format forbids both).
  std::vector<std::tuple<uint64_t, uint64_t, std::string>> ranges;
  for (auto &[name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object())
        throw bad("__metadata__ is not an object");
      for (auto &[k, v] : entry.items()) {
        if (!v.is_string())
          throw bad("metadata '" + k + "' is not a string");
        file.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    if (!entry.is_object() || !entry.contains("dtype") ||
        !entry.contains("shape") || !entry.contains("data_offsets") ||
        !entry["dtype"].is_string() || !entry["shape"].is_array() ||
        !entry["data_offsets"].is_array() || entry["data_offsets"].size() != 2)
      throw bad("tensor '" + name +
                "' lacks dtype, shape or data_offsets [begin, end]");
    StoredTensor t;
    t.dtype = entry["dtype"].get<std::string>();
    size_t elt = dtypeSize(t.dtype);
    if (!elt)
      throw bad("tensor '" + name + "' has dtype " + t.dtype +
                " (nlrt reads F32, F64, I32, I64)");
    uint64_t count = 1;
    for (auto &d : entry["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0)
        throw bad("tensor '" + name + "' has a bad shape");
      t.shape.push_back(d.get<int64_t>());
      uint64_t bytes = 0;
      if (__builtin_mul_overflow(count, static_cast<uint64_t>(t.shape.back()),
                                 &count) ||
          __builtin_mul_overflow(count, uint64_t(elt), &bytes))
        throw bad("tensor '" + name + "' has a shape of 2^64 bytes or more");
    }
    auto &offs = entry["data_offsets"];
    if (!offs[0].is_number_unsigned() || !offs[1].is_number_unsigned())
      throw bad("tensor '" + name + "' has bad data_offsets");
    uint64_t begin = offs[0].get<uint64_t>(), end = offs[1].get<uint64_t>();
    if (begin > end || end > dataSize)
      throw bad("tensor '" + name + "' lies at bytes [" +
                std::to_string(begin) + ", " + std::to_string(end) +
                ") but the data section has " + std::to_string(dataSize) +
                " bytes (truncated?)");
    if (end - begin != count * elt)
      throw bad("tensor '" + name + "' has " + std::to_string(end - begin) +
                " bytes, but its shape and dtype need " +
                std::to_string(count * elt));
    ranges.emplace_back(begin, end, name);
    t.bytes.resize(end - begin);
    in.seekg(static_cast<std::streamoff>(8 + n + begin));
    in.read(t.bytes.data(), static_cast<std::streamsize>(t.bytes.size()));
    if (!in)
      throw bad("reading tensor '" + name + "' failed");
    file.tensors.emplace(name, std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  uint64_t covered = 0;
  std::string previous;
  for (auto &[begin, end, name] : ranges) {
    if (begin < covered)
      throw bad("tensor '" + name + "' at bytes [" + std::to_string(begin) +
                ", " + std::to_string(end) + ") overlaps tensor '" + previous +
                "'");
    if (begin > covered)
      throw bad("bytes [" + std::to_string(covered) + ", " +
                std::to_string(begin) +
                ") of the data section belong to no "
                "tensor (a hole before tensor '" +
                name + "')");
    covered = end;
    previous = name;
  }
  if (covered != dataSize)
    throw bad("bytes [" + std::to_string(covered) + ", " +
              std::to_string(dataSize) +
              ") of the data section belong to no tensor (a hole at the "
              "end)");
  return file;
}

} // namespace nlrt
