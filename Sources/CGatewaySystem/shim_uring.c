#include "CGatewaySystem.h"
