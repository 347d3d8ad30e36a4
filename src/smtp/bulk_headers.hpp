// Campaign and tenant from a trusted client's header fields (default
// X-Campaign and X-Tenant): read from the header section and removed from
// it, so they go no further than this server. Pure.
#pragma once

#include <string>
#include <string_view>

namespace petrel::smtp {

struct BulkFields {
  std::string campaign;  // "" when absent or unusable
  std::string tenant;
};

// Takes the fields named campaign_header and tenant_header (any case,
// folded lines included) out of the header section of `content`. A value
// is trimmed; one over 128 octets or with control characters is dropped
// (the field is removed all the same). An empty name is not looked for.
BulkFields take_bulk_fields(std::string& content, std::string_view campaign_header, std::string_view tenant_header);

}  // namespace petrel::smtp
