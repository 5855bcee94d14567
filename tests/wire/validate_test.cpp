// SPDX-License-Identifier: MIT
// Name and text validation tables.
#include "wire/validate.h"

#include <gtest/gtest.h>

using namespace voice;

TEST(ValidateName, AcceptsShortLowerCaseNames) {
    for (const char* name : {"a", "bob", "alice.smith", "x_y-z", "0", "9lives", "a.b.c", "...", "-",
                             "_", "abcdefghijklmnopqrstuvwxyz012345"}) {
        EXPECT_TRUE(validateName(name).ok()) << name;
        EXPECT_TRUE(isValidName(name)) << name;
    }
}

TEST(ValidateName, RefusesEverythingElse) {
    const std::string tooLong(kMaxNameLength + 1, 'a');
    for (std::string_view name :
         {std::string_view(""), std::string_view(tooLong), std::string_view("Bob"),
          std::string_view("ALICE"), std::string_view("bob smith"), std::string_view("bob/evil"),
          std::string_view("bob\n"), std::string_view("bob\0x", 5), std::string_view("b@b"),
          std::string_view("caf\xc3\xa9"), std::string_view("a+b"), std::string_view("a:b"),
          std::string_view("\t"), std::string_view("bob\x7f")}) {
        Status s = validateName(name);
        EXPECT_FALSE(s.ok()) << name;
        EXPECT_EQ(s.code(), Errc::InvalidArgument);
        EXPECT_FALSE(isValidName(name));
    }
}

TEST(ValidateName, AcceptsExactlyTheMaximumLength) {
    EXPECT_TRUE(isValidName(std::string(kMaxNameLength, 'a')));
    EXPECT_FALSE(isValidName(std::string(kMaxNameLength + 1, 'a')));
}

TEST(ValidateText, AcceptsPrintableUtf8WithinTheLimit) {
    for (const char* text :
         {"", "voiced 0.1.0", "name is taken", "caf\xc3\xa9", "\xe2\x98\x8e phone",
          "\xf0\x9f\x93\x9e", "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf", "\xee\x80\x80"}) {
        EXPECT_TRUE(validateText(text, 64).ok()) << text;
    }
    EXPECT_TRUE(validateText(std::string(10, 'x'), 10).ok());
}

TEST(ValidateText, RefusesControlCharactersBadUtf8AndOverlongText) {
    for (std::string_view text : {
             std::string_view("a\nb"), std::string_view("\x1b[31m"), std::string_view("a\tb"),
             std::string_view("nul\0", 4), std::string_view("del\x7f"),
             std::string_view("\x80"),             // lone continuation byte
             std::string_view("\xc3"),             // truncated sequence
             std::string_view("\xc0\xaf"),         // overlong '/'
             std::string_view("\xe0\x80\xaf"),     // overlong, 3 bytes
             std::string_view("\xf0\x80\x80\xaf"), // overlong, 4 bytes
             std::string_view("\xed\xa0\x80"),     // surrogate U+D800
             std::string_view("\xf4\x90\x80\x80"), // above U+10FFFF
             std::string_view("\xf5\x80\x80\x80"), std::string_view("\xff"),
             std::string_view("\xe2\x98"), // truncated 3-byte sequence
         }) {
        EXPECT_FALSE(validateText(text, 64).ok()) << testing::PrintToString(text);
    }
    EXPECT_FALSE(validateText(std::string(11, 'x'), 10).ok());
}
