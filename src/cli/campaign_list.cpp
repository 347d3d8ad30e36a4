#include "cli/campaign_list.hpp"

#include <openssl/evp.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace petrel::cli {
namespace {

constexpr std::size_t kChunk = 64 * 1024;

}  // namespace

struct Sha256::Impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  if (impl_->ctx == nullptr || EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 is not available");
  }
}
Sha256::~Sha256() = default;

void Sha256::update(std::string_view data) { EVP_DigestUpdate(impl_->ctx, data.data(), data.size()); }

std::string Sha256::hex() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int n = 0;
  EVP_DigestFinal_ex(impl_->ctx, digest.data(), &n);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += kDigits[digest[i] >> 4];
    out += kDigits[digest[i] & 0xf];
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.hex();
}

ListReader::ListReader(std::string path) : path_(std::move(path)), in_(path_, std::ios::binary) {
  if (!in_) throw CampaignInputError("cannot read " + path_ + ": " + std::strerror(errno));
  std::optional<CsvRecord> header;
  do {
    header = next_record();
  } while (header && blank(*header));
  if (!header) throw CampaignInputError(path_ + ": no header row (the first line names the columns: email,name,...)");
  auto columns = RecipientColumns::from_header(*header);
  if (auto* e = std::get_if<CsvError>(&columns)) fail(*e);
  columns_ = std::move(std::get<RecipientColumns>(columns));
}

void ListReader::fail(const CsvError& e) const {
  throw CampaignInputError(path_ + " line " + std::to_string(e.line) + ": " + e.message);
}

bool ListReader::read_chunk() {
  std::array<char, kChunk> buffer;
  in_.read(buffer.data(), buffer.size());
  const auto n = static_cast<std::size_t>(in_.gcount());
  if (in_.bad()) throw CampaignInputError("cannot read " + path_ + ": " + std::strerror(errno));
  records_.clear();
  taken_ = 0;
  const std::string_view bytes(buffer.data(), n);
  hash_.update(bytes);
  size_ += n;
  const bool ok = n > 0 ? parser_.feed(bytes, records_) : parser_.finish(records_);
  if (!ok) fail(*parser_.error());
  return n > 0;
}

std::optional<CsvRecord> ListReader::next_record() {
  while (taken_ == records_.size()) {
    if (at_end_) return std::nullopt;
    at_end_ = !read_chunk();
  }
  return std::move(records_[taken_++]);
}

std::optional<RecipientRow> ListReader::next() {
  for (;;) {
    std::optional<CsvRecord> record = next_record();
    if (!record) return std::nullopt;
    if (blank(*record)) continue;
    return columns_->row(*record, next_index_++);
  }
}

ListInfo scan_list(const std::string& path) {
  ListReader reader(path);
  ListInfo info;
  info.path = path;
  while (auto row = reader.next()) {
    ++info.rows;
    if (!row->invalid.empty()) ++info.invalid;
  }
  info.size = reader.size();
  info.sha256 = reader.sha256();
  return info;
}

}  // namespace petrel::cli
