// SPDX-License-Identifier: GPL-2.0
/*
 * stap smoke tests: the module is loaded, registers the "stap" ULP, and
 * the ULP attaches to established IPv4 and IPv6 sockets.
 */
#include "stap_lib.h"
#include "../../kselftest_harness.h"

FIXTURE(smoke)
{
	int cfd;
	int sfd;
};

FIXTURE_VARIANT(smoke)
{
	int family;
};

FIXTURE_VARIANT_ADD(smoke, ipv4)
{
	.family = AF_INET,
};

FIXTURE_VARIANT_ADD(smoke, ipv6)
{
	.family = AF_INET6,
};

FIXTURE_SETUP(smoke)
{
	if (!stap_available())
		SKIP(return, "stap module not loaded");
	ASSERT_EQ(stap_pair(variant->family, &self->cfd, &self->sfd), 0);
}

FIXTURE_TEARDOWN(smoke)
{
	close(self->cfd);
	close(self->sfd);
}

TEST_F(smoke, ulp_listed)
{
	char buf[256] = {};
	FILE *f;

	f = fopen("/proc/sys/net/ipv4/tcp_available_ulp", "r");
	ASSERT_NE(f, NULL);
	ASSERT_NE(fgets(buf, sizeof(buf), f), NULL);
	fclose(f);
	EXPECT_NE(strstr(buf, "stap"), NULL);
}

TEST_F(smoke, ulp_set_and_read_back)
{
	char name[32] = {};
	socklen_t len = sizeof(name);

	ASSERT_EQ(stap_ulp(self->sfd), 0);
	ASSERT_EQ(getsockopt(self->sfd, SOL_TCP, TCP_ULP, name, &len), 0);
	EXPECT_STREQ(name, "stap");
}

TEST_F(smoke, ulp_twice)
{
	ASSERT_EQ(stap_ulp(self->sfd), 0);
	EXPECT_EQ(stap_ulp(self->sfd), -1);
	EXPECT_EQ(errno, EEXIST);
}

TEST_F(smoke, ulp_keeps_stream)
{
	char buf[16] = {};

	ASSERT_EQ(stap_ulp(self->sfd), 0);
	ASSERT_EQ(send(self->cfd, "hello", 5, 0), 5);
	ASSERT_EQ(recv(self->sfd, buf, sizeof(buf), 0), 5);
	EXPECT_EQ(memcmp(buf, "hello", 5), 0);
	ASSERT_EQ(send(self->sfd, "world", 5, 0), 5);
	ASSERT_EQ(recv(self->cfd, buf, sizeof(buf), 0), 5);
	EXPECT_EQ(memcmp(buf, "world", 5), 0);
}

TEST(ulp_unconnected)
{
	int fd;

	if (!stap_available())
		SKIP(return, "stap module not loaded");
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(stap_ulp(fd), -1);
	EXPECT_EQ(errno, ENOTCONN);
	close(fd);
}

TEST_HARNESS_MAIN
