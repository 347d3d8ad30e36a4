#include "catch_web/mime_view.hpp"

#include <gmime/gmime.h>

#include <memory>
#include <mutex>
#include <strings.h>

namespace petrel::catchweb {
namespace {

void init_gmime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

// GObject and GLib allocations, released on every path.
struct Unref {
  void operator()(gpointer p) const { g_object_unref(p); }
};
template <typename T>
using Ref = std::unique_ptr<T, Unref>;

std::string take_string(char* s) {
  if (s == nullptr) return {};
  std::string out(s);
  g_free(s);
  return out;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(g_ascii_tolower(c));
  return s;
}

Ref<GMimeMessage> parse(std::string_view bytes) {
  init_gmime();
  Ref<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(bytes.data(), bytes.size()));
  Ref<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  return Ref<GMimeMessage>(g_mime_parser_construct_message(parser.get(), nullptr));
}

std::string addresses(InternetAddressList* list) {
  if (list == nullptr || internet_address_list_length(list) == 0) return {};
  return take_string(internet_address_list_to_string(list, nullptr, FALSE));
}

std::string date_of(GMimeMessage* message) {
  GDateTime* date = g_mime_message_get_date(message);  // the message's own
  if (date == nullptr) return {};
  GDateTime* utc = g_date_time_to_utc(date);
  if (utc == nullptr) return {};
  std::string out = take_string(g_date_time_format(utc, "%Y-%m-%dT%H:%M:%SZ"));
  g_date_time_unref(utc);
  return out;
}

Summary summary_of(GMimeMessage* message) {
  Summary s;
  if (const char* subject = g_mime_message_get_subject(message)) s.subject = subject;
  s.from = addresses(g_mime_message_get_from(message));
  s.to = addresses(g_mime_message_get_to(message));
  s.date = date_of(message);
  return s;
}

std::vector<HeaderField> headers_of(GMimeObject* object) {
  std::vector<HeaderField> out;
  GMimeHeaderList* list = g_mime_object_get_header_list(object);
  const int count = list == nullptr ? 0 : g_mime_header_list_get_count(list);
  for (int i = 0; i < count && out.size() < kMaxHeaders; ++i) {
    GMimeHeader* h = g_mime_header_list_get_header_at(list, i);
    const char* name = g_mime_header_get_name(h);
    const char* value = g_mime_header_get_value(h);
    HeaderField field;
    field.name = name == nullptr ? "" : name;
    if (value != nullptr) field.value = take_string(g_mime_utils_header_decode_text(nullptr, value));
    out.push_back(std::move(field));
  }
  return out;
}

// Writes `write` into memory through a charset filter (when converting),
// and keeps at most `cap` octets of it.
template <typename Write>
void capture(Part& part, const char* from_charset, std::size_t cap, Write write) {
  Ref<GMimeStream> memory(g_mime_stream_mem_new());
  Ref<GMimeStream> filtered(g_mime_stream_filter_new(memory.get()));
  if (from_charset != nullptr && g_ascii_strcasecmp(from_charset, "utf-8") != 0 &&
      g_ascii_strcasecmp(from_charset, "us-ascii") != 0) {
    if (GMimeFilter* convert = g_mime_filter_charset_new(from_charset, "UTF-8")) {  // null: unknown charset
      g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered.get()), convert);
      g_object_unref(convert);
    }
  }
  write(filtered.get());
  g_mime_stream_flush(filtered.get());
  const GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(memory.get()));
  part.size = bytes->len;
  part.truncated = bytes->len > cap;
  part.content.assign(reinterpret_cast<const char*>(bytes->data), part.truncated ? cap : bytes->len);
}

Part part_of(GMimeObject* object, std::size_t cap) {
  Part part;
  GMimeContentType* type = g_mime_object_get_content_type(object);
  part.content_type = type == nullptr ? "text/plain" : lower(take_string(g_mime_content_type_get_mime_type(type)));
  if (const char* charset = g_mime_object_get_content_type_parameter(object, "charset")) part.charset = charset;
  if (const char* disposition = g_mime_object_get_disposition(object)) part.disposition = lower(disposition);
  if (GMIME_IS_PART(object)) {
    GMimePart* leaf = GMIME_PART(object);
    if (const char* filename = g_mime_part_get_filename(leaf)) part.filename = filename;
    part.text = part.content_type == "text/plain" || part.content_type == "text/html";
    const char* charset = part.text ? (part.charset.empty() ? "us-ascii" : part.charset.c_str()) : nullptr;
    GMimeDataWrapper* content = g_mime_part_get_content(leaf);
    capture(part, charset, cap, [content](GMimeStream* out) {
      if (content != nullptr) g_mime_data_wrapper_write_to_stream(content, out);  // decodes base64, QP
    });
  } else if (GMIME_IS_MESSAGE_PART(object)) {
    GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
    capture(part, nullptr, cap, [inner](GMimeStream* out) {
      if (inner != nullptr) g_mime_object_write_to_stream(GMIME_OBJECT(inner), nullptr, out);
    });
  }
  return part;
}

// Depth first, without recursion on the C++ stack: GMime bounds the
// nesting it builds, but a stack of our own costs nothing.
std::vector<Part> parts_of(GMimeObject* root, std::size_t cap) {
  std::vector<Part> out;
  std::vector<std::pair<GMimeMultipart*, int>> stack;
  GMimeObject* next = root;
  while (out.size() < kMaxParts) {
    if (next != nullptr && GMIME_IS_MULTIPART(next)) {
      stack.emplace_back(GMIME_MULTIPART(next), 0);
      next = nullptr;
    } else if (next != nullptr) {
      out.push_back(part_of(next, cap));
      next = nullptr;
    }
    while (!stack.empty() && stack.back().second >= g_mime_multipart_get_count(stack.back().first)) stack.pop_back();
    if (stack.empty()) break;
    next = g_mime_multipart_get_part(stack.back().first, stack.back().second++);
  }
  return out;
}

std::string_view header_section(std::string_view message) {
  std::size_t end = message.find("\r\n\r\n");
  const std::size_t lf = message.find("\n\n");
  if (lf < end) end = lf;
  return end == std::string_view::npos ? message : message.substr(0, end + 2);
}

}  // namespace

Summary summarize(std::string_view message) {
  const auto parsed = parse(header_section(message));
  return parsed ? summary_of(parsed.get()) : Summary{};
}

MessageView view_message(std::string_view message, std::size_t max_content) {
  MessageView view;
  const auto parsed = parse(message);
  if (!parsed) return view;
  view.summary = summary_of(parsed.get());
  view.headers = headers_of(GMIME_OBJECT(parsed.get()));
  if (GMimeObject* body = g_mime_message_get_mime_part(parsed.get())) view.parts = parts_of(body, max_content);
  return view;
}

}  // namespace petrel::catchweb
