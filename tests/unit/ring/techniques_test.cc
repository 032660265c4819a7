// PAGI_RING_DISABLE's parser: technique names to a mask and back.
#include <string>

#include <gtest/gtest.h>

#include "ring/reactor.h"

namespace pagi::ring {
namespace {

TEST(Techniques, NamesMapToTheirBits) {
  unsigned mask = 99;
  std::string error;
  ASSERT_TRUE(parse_techniques("defer-taskrun,multishot-recv", &mask, &error)) << error;
  EXPECT_EQ(mask, unsigned(kDeferTaskrun | kMultishotRecv));
  ASSERT_TRUE(parse_techniques("registered-fd", &mask, &error)) << error;
  EXPECT_EQ(mask, unsigned(kRegisteredFd));
  ASSERT_TRUE(parse_techniques("defer-accept", &mask, &error)) << error;
  EXPECT_EQ(mask, unsigned(kDeferAccept));
  ASSERT_TRUE(parse_techniques("coop-taskrun,,multishot-accept,", &mask, &error)) << error;
  EXPECT_EQ(mask, unsigned(kCoopTaskrun | kMultishotAccept));
  ASSERT_TRUE(parse_techniques("", &mask, &error)) << error;
  EXPECT_EQ(mask, 0u);
}

TEST(Techniques, UnknownNameIsAnErrorThatListsTheKnownOnes) {
  unsigned mask = 7;
  std::string error;
  EXPECT_FALSE(parse_techniques("multishot-recv,sqpoll", &mask, &error));
  EXPECT_EQ(mask, 7u);  // untouched
  EXPECT_NE(error.find("'sqpoll'"), std::string::npos) << error;
  EXPECT_NE(error.find("defer-taskrun, coop-taskrun, registered-fd, multishot-recv, "
                       "multishot-accept, defer-accept"),
            std::string::npos)
      << error;
}

TEST(Techniques, DescribeNamesEachBitInOrder) {
  EXPECT_EQ(describe_techniques(0), "");
  EXPECT_EQ(describe_techniques(kMultishotAccept | kDeferTaskrun),
            "defer-taskrun,multishot-accept");
  unsigned mask = 0;
  std::string error;
  ASSERT_TRUE(parse_techniques(describe_techniques(0x3f), &mask, &error)) << error;
  EXPECT_EQ(mask, 0x3fu);
}

}  // namespace
}  // namespace pagi::ring
