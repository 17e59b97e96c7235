/* test/base64.c - RFC 4648 test vectors, and any bytes round-trip. */
#include <string.h>

#include "common/base64.h"
#include "common/tap.h"

int main(void)
{
    static const char *vec[][2] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    char enc[64], dec[64];
    plan(NO_PLAN);
    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        base64_encode(vec[i][0], strlen(vec[i][0]), enc);
        is_str(enc, vec[i][1], "encode '%s'", vec[i][0]);
        ssize_t n = base64_decode(vec[i][1], strlen(vec[i][1]), dec);
        ok(n == (ssize_t)strlen(vec[i][0]) && !memcmp(dec, vec[i][0], (size_t)n), "decode '%s'",
           vec[i][1]);
    }
    unsigned char all[256], back[256];
    char text[BASE64_LEN(256) + 1];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    base64_encode(all, sizeof(all), text);
    ok(base64_decode(text, strlen(text), back) == 256 && !memcmp(all, back, 256),
       "every byte value round-trips (NUL, invalid UTF-8)");
    static const char *bad[] = {"Zg=", "Z===", "Zm9v!A==", "Zg==Zg==", "=Zg="};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ok(base64_decode(bad[i], strlen(bad[i]), back) == -1, "refused: '%s'", bad[i]);
    done_testing();
}
