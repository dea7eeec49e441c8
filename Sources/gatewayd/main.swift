import Foundation
import GatewayServer

exit(GatewayCommand.main(arguments: CommandLine.arguments))
