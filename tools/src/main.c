// SPDX-License-Identifier: GPL-2.0
/*
 * envcryptctl: envelope-encrypted volumes on dm-envcrypt.
 */
#include "cli.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
