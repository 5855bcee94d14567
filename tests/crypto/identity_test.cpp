// SPDX-License-Identifier: MIT
// Identity: key file round trip, refusal of unsafe or corrupt files, signatures, fingerprint.
#include "crypto/identity.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

using namespace voice;
namespace fs = std::filesystem;

namespace {

class AnIdentityFile : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "voiced-identity-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir = tmpl;
        path = (fs::path(dir) / "identity.pem").string();
    }
    void TearDown() override { fs::remove_all(dir); }

    static mode_t modeOf(const std::string& p) {
        struct stat st {};
        EXPECT_EQ(::stat(p.c_str(), &st), 0);
        return st.st_mode & 07777;
    }

    std::string dir;
    std::string path;
};

} // namespace

TEST_F(AnIdentityFile, IsCreatedOnFirstUseWithMode0600AndLoadsBackTheSameKey) {
    auto created = Identity::loadOrCreate(path);
    ASSERT_TRUE(created.ok()) << created.status().toString();
    EXPECT_EQ(modeOf(path), 0600u);
    auto again = Identity::loadOrCreate(path);
    ASSERT_TRUE(again.ok()) << again.status().toString();
    EXPECT_EQ(again->publicKey(), created->publicKey());
    // No temporary files left behind.
    size_t files = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) {
        ++files;
    }
    EXPECT_EQ(files, 1u);
    // Stored as PEM PKCS#8.
    std::ifstream in(path);
    std::string first;
    std::getline(in, first);
    EXPECT_EQ(first, "-----BEGIN PRIVATE KEY-----");
    // The loaded key signs like the original.
    const uint8_t msg[] = {1, 2, 3};
    auto sig = again->sign(msg);
    ASSERT_TRUE(sig.ok());
    EXPECT_TRUE(Identity::verify(created->publicKey(), msg, *sig));
}

TEST_F(AnIdentityFile, CreatesAMissingParentDirectoryOwnerOnly) {
    const std::string nested = (fs::path(dir) / "voiced" / "identity.pem").string();
    auto created = Identity::loadOrCreate(nested);
    ASSERT_TRUE(created.ok()) << created.status().toString();
    EXPECT_EQ(modeOf((fs::path(dir) / "voiced").string()), 0700u);
}

TEST_F(AnIdentityFile, SaveReplacesAnExistingFileAtomically) {
    auto a = Identity::generate();
    auto b = Identity::generate();
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_TRUE(a->save(path).ok());
    ASSERT_TRUE(b->save(path).ok());
    auto loaded = Identity::load(path);
    ASSERT_TRUE(loaded.ok());
    EXPECT_EQ(loaded->publicKey(), b->publicKey());
    EXPECT_EQ(modeOf(path), 0600u);
}

TEST_F(AnIdentityFile, ReadableByOthersIsRefusedWithAClearError) {
    auto id = Identity::generate();
    ASSERT_TRUE(id.ok());
    ASSERT_TRUE(id->save(path).ok());
    ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
    auto loaded = Identity::load(path);
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.status().code(), Errc::Permission);
    EXPECT_NE(loaded.status().detail().find("0644"), std::string::npos);
    EXPECT_NE(loaded.status().detail().find("chmod 600"), std::string::npos);
    // loadOrCreate must not silently replace it either.
    EXPECT_FALSE(Identity::loadOrCreate(path).ok());
    ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
    EXPECT_FALSE(Identity::load(path).ok());
}

TEST_F(AnIdentityFile, CorruptContentIsRefused) {
    auto id = Identity::generate();
    ASSERT_TRUE(id.ok());
    ASSERT_TRUE(id->save(path).ok());
    std::string pem;
    {
        std::ifstream in(path);
        pem.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    auto writeFile = [&](const std::string& content) {
        std::ofstream out(path, std::ios::trunc);
        out << content;
        out.close();
        ::chmod(path.c_str(), 0600);
    };
    pem[40] = pem[40] == 'A' ? 'B' : 'A'; // damage the base64 body
    writeFile(pem);
    auto loaded = Identity::load(path);
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.status().code(), Errc::InvalidArgument);

    writeFile("not a key at all\n");
    EXPECT_FALSE(Identity::load(path).ok());
    writeFile("");
    EXPECT_FALSE(Identity::load(path).ok());
    writeFile(std::string(Identity::kMaxFileSize + 1, 'A'));
    EXPECT_FALSE(Identity::load(path).ok());
}

TEST_F(AnIdentityFile, ThatHoldsAnotherKeyTypeIsRefused) {
    EVP_PKEY* x = EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519");
    ASSERT_NE(x, nullptr);
    FILE* f = fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(PEM_write_PrivateKey(f, x, nullptr, nullptr, 0, nullptr, nullptr), 1);
    fclose(f);
    EVP_PKEY_free(x);
    ::chmod(path.c_str(), 0600);
    auto loaded = Identity::load(path);
    ASSERT_FALSE(loaded.ok());
    EXPECT_NE(loaded.status().detail().find("Ed25519"), std::string::npos);
}

TEST_F(AnIdentityFile, ThatIsMissingIsReportedAsNotFoundAndASymlinkIsRefused) {
    auto missing = Identity::load(path);
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.status().code(), Errc::NotFound);

    auto id = Identity::generate();
    ASSERT_TRUE(id.ok());
    const std::string real = (fs::path(dir) / "real.pem").string();
    ASSERT_TRUE(id->save(real).ok());
    fs::create_symlink(real, path);
    EXPECT_FALSE(Identity::load(path).ok());
}

TEST(AnIdentity, ShowsItsFingerprintAsEightGroupsOfFourHexDigits) {
    auto id = Identity::generate();
    ASSERT_TRUE(id.ok());
    const std::string fp = id->fingerprint();
    ASSERT_EQ(fp.size(), 39u);
    for (size_t i = 0; i < fp.size(); ++i) {
        if (i % 5 == 4) {
            EXPECT_EQ(fp[i], ' ');
        } else {
            EXPECT_TRUE(isxdigit(static_cast<unsigned char>(fp[i])));
        }
    }
    auto other = Identity::generate();
    ASSERT_TRUE(other.ok());
    EXPECT_NE(other->fingerprint(), fp);
    // SHA-256 of 32 zero bytes begins 66687aadf862bd776c8fc18b8e9f8e20.
    EXPECT_EQ(Identity::fingerprintOf(std::vector<uint8_t>(32, 0)),
              "6668 7aad f862 bd77 6c8f c18b 8e9f 8e20");
}

TEST(AnIdentity, RejectsSignaturesOverOtherMessagesOrByOtherKeys) {
    auto a = Identity::generate();
    auto b = Identity::generate();
    ASSERT_TRUE(a.ok() && b.ok());
    const uint8_t msg[] = {'h', 'i'};
    const uint8_t other[] = {'h', 'o'};
    auto sig = a->sign(msg);
    ASSERT_TRUE(sig.ok());
    EXPECT_TRUE(Identity::verify(a->publicKey(), msg, *sig));
    EXPECT_FALSE(Identity::verify(a->publicKey(), other, *sig));
    EXPECT_FALSE(Identity::verify(b->publicKey(), msg, *sig));
    EXPECT_FALSE(Identity::verify(a->publicKey(), msg, std::span(sig->data(), 63)));
}
