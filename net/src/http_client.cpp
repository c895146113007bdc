// Blocking HTTP/1.1 client: one fresh connection per request, driven by a private io_context
// on the calling thread, every step under one deadline (beast::tcp_stream expires_at).
#include <algorithm>
#include <cctype>
#include <chrono>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>

#include "tensority/core/hex.hpp"
#include "tensority/net/http.hpp"

namespace tensority::net {

std::string authorization_for(std::string_view token) {
  if (token.find(':') == std::string_view::npos) return "Bearer " + std::string(token);
  std::string encoded(boost::beast::detail::base64::encoded_size(token.size()), '\0');
  encoded.resize(boost::beast::detail::base64::encode(encoded.data(), token.data(), token.size()));
  return "Basic " + encoded;
}
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

constexpr std::uint32_t kResponseHeaderLimit = 64 * 1024;
constexpr std::size_t kShownUrlChars = 120;

// The text as it may appear in a one-line error message.
std::string printable(std::string_view text) { return core::printable(text, kShownUrlChars); }

bool host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_';
}

std::string host_port(const Url& url) {
  const bool v6 = url.host.find(':') != std::string::npos;
  return (v6 ? "[" + url.host + "]" : url.host) + ":" + std::to_string(url.port);
}

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

core::Result<HttpResponse> request(const Url& base, http::verb verb, std::string_view path, std::string_view body,
                                   const HttpClientOptions& options) {
  using R = core::Result<HttpResponse>;
  std::string target = base.path;
  if (path.empty() || path.front() != '/') target += '/';
  target += path;
  for (const char c : target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return R::failure("invalid request path '" + printable(target) + "'");
  }
  const std::string where = host_port(base);
  const std::string what = std::string(sv(http::to_string(verb))) + " http://" + where + target;
  const std::string timed_out = "timed out after " + std::to_string(options.timeout.count()) + " ms";
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;

  asio::io_context ioc(1);
  // Endpoints: an address as is; a name through the resolver, bounded by the deadline.
  std::vector<tcp::endpoint> endpoints;
  error_code ec;
  const auto address = asio::ip::make_address(base.host, ec);
  if (!ec) {
    endpoints.emplace_back(address, base.port);
  } else {
    tcp::resolver resolver(ioc);
    asio::steady_timer timer(ioc);
    bool expired = false;
    error_code resolve_ec;
    timer.expires_at(deadline);
    timer.async_wait([&](const error_code& wait_ec) {
      if (wait_ec) return;
      expired = true;
      resolver.cancel();
    });
    resolver.async_resolve(base.host, std::to_string(base.port),
                           [&](const error_code& rec, const tcp::resolver::results_type& results) {
                             resolve_ec = rec;
                             for (const auto& r : results) endpoints.push_back(r.endpoint());
                             timer.cancel();
                           });
    ioc.run();
    ioc.restart();
    if (expired) return R::failure("cannot resolve " + printable(base.host) + ": " + timed_out);
    if (resolve_ec) return R::failure("cannot resolve " + printable(base.host) + ": " + resolve_ec.message());
    if (endpoints.empty()) return R::failure("cannot resolve " + printable(base.host) + ": no address");
  }

  beast::tcp_stream stream(ioc);
  stream.expires_at(deadline);
  auto run = [&] {
    ioc.run();
    ioc.restart();
  };

  stream.async_connect(endpoints, [&](const error_code& cec, const tcp::endpoint&) { ec = cec; });
  run();
  if (ec) return R::failure("cannot connect to " + where + ": " + (ec == beast::error::timeout ? timed_out : ec.message()));

  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, where);
  req.set(http::field::user_agent, "tensority");
  if (!options.bearer_token.empty()) req.set(http::field::authorization, authorization_for(options.bearer_token));
  if (verb == http::verb::post) {
    req.set(http::field::content_type, "application/json");
    req.body() = std::string(body);
  }
  req.keep_alive(false);
  req.prepare_payload();

  http::async_write(stream, req, [&](const error_code& wec, std::size_t) { ec = wec; });
  run();
  const error_code write_ec = ec;
  if (write_ec == beast::error::timeout) return R::failure(what + ": " + timed_out);
  // A server may answer and close before taking the whole request (413): still read what it
  // sent, and report the write failure only when there is no answer.

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(kResponseHeaderLimit);
  parser.body_limit(options.max_response_bytes);
  // The header first: Beast 1.74's eager parse (http::async_read) loses the body_limit error
  // for a Content-Length over the limit, the header-only read reports it.
  http::async_read_header(stream, buffer, parser, [&](const error_code& rec, std::size_t) { ec = rec; });
  run();
  if (!ec && !parser.is_done()) {
    http::async_read(stream, buffer, parser, [&](const error_code& rec, std::size_t) { ec = rec; });
    run();
  }
  if (!ec && parser.get().body().size() > options.max_response_bytes) ec = http::error::body_limit;
  if (ec) {
    if (write_ec) return R::failure(what + ": cannot send the request: " + write_ec.message());
    if (ec == beast::error::timeout) return R::failure(what + ": " + timed_out);
    if (ec == http::error::body_limit) {
      return R::failure(what + ": response larger than " + std::to_string(options.max_response_bytes) + " bytes");
    }
    if (ec == http::error::end_of_stream || ec == http::error::partial_message || ec == asio::error::eof) {
      return R::failure(what + ": the server closed the connection without a complete response");
    }
    return R::failure(what + ": cannot read the response: " + ec.message());
  }
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);

  auto& msg = parser.get();
  HttpResponse out;
  out.status = msg.result_int();
  out.content_type = std::string(sv(msg[http::field::content_type]));
  out.body = std::move(msg.body());
  return out;
}

}  // namespace

core::Result<Url> parse_url(std::string_view text) {
  auto fail = [&](const std::string& why) {
    return core::Result<Url>::failure("invalid URL '" + printable(text) + "': " + why);
  };
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) return fail("expected http://HOST[:PORT][/PATH]");
  std::string scheme(text.substr(0, sep));
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "http") {
    return fail(scheme == "https" ? "https is not supported, only http://"
                                  : "unsupported scheme '" + printable(scheme) + "', only http://");
  }
  const std::string_view rest = text.substr(sep + 3);
  const auto authority_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authority_end);
  const std::string_view tail = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  if (tail.find_first_of("?#") != std::string_view::npos) return fail("a query or fragment is not supported");
  if (authority.find('@') != std::string_view::npos) return fail("user info is not supported");

  Url url;
  url.scheme = "http";
  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return fail("missing ']' after an IPv6 address");
    url.host = std::string(authority.substr(1, close - 1));
    // Characters first: the address parser reads a C string and would stop at a NUL.
    const bool v6_chars = std::all_of(url.host.begin(), url.host.end(), [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '.';
    });
    error_code ec;
    if (v6_chars) asio::ip::make_address_v6(url.host, ec);
    if (!v6_chars || ec) return fail("bad IPv6 address '" + printable(url.host) + "'");
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("unexpected text after ']'");
      has_port = true;
      port_text = after.substr(1);
    }
  } else {
    const auto colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
      if (port_text.find(':') != std::string_view::npos) return fail("an IPv6 address needs brackets: http://[ADDR]:PORT");
    }
    if (url.host.empty()) return fail("missing host");
    for (const char c : url.host) {
      if (!host_char(c)) return fail("bad character in host '" + printable(url.host) + "'");
    }
  }
  if (url.host.empty()) return fail("missing host");
  if (has_port) {
    if (port_text.empty()) return fail("missing port after ':'");
    unsigned long value = 0;
    for (const char c : port_text) {
      if (c < '0' || c > '9' || port_text.size() > 5) return fail("bad port '" + printable(port_text) + "'");
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return fail("port out of range (1-65535)");
    url.port = static_cast<std::uint16_t>(value);
  }
  for (const char c : tail) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return fail("bad character in path");
  }
  url.path = std::string(tail);
  while (!url.path.empty() && url.path.back() == '/') url.path.pop_back();
  return url;
}

std::string to_string(const Url& url) { return "http://" + host_port(url) + url.path; }

core::Result<HttpResponse> http_post(const Url& base, std::string_view path, std::string_view body,
                                     const HttpClientOptions& options) {
  return request(base, http::verb::post, path, body, options);
}

core::Result<HttpResponse> http_get(const Url& base, std::string_view path, const HttpClientOptions& options) {
  return request(base, http::verb::get, path, {}, options);
}

}  // namespace tensority::net
